// One choice among a few, as a row of joined buttons: radio buttons in a
// fieldset, so arrow keys move between them and screen readers say
// "Status, Open, 1 of 3".
import { useId } from "preact/hooks";

// options: [[value, label], …]
export function Segmented({ legend, options, value, onChange, class: cls = "" }) {
  const id = useId();
  return (
    <fieldset class={`segmented ${cls}`}>
      <legend>{legend}</legend>
      {options.map(([v, label]) => (
        <label key={v} class={value === v ? "segment segment-on" : "segment"}>
          <input type="radio" name={id} value={v} checked={value === v} onChange={() => onChange(v)} />
          {label}
        </label>
      ))}
    </fieldset>
  );
}
