// A search box above a list. It answers every key press (onSearch gets
// the text); pair it with useDebounced() so the server is asked only
// once the typing pauses.
import { Field } from "./Field.jsx";

export function SearchField({ label, value, onSearch, placeholder }) {
  return (
    <Field
      label={label}
      type="search"
      value={value}
      maxLength={200}
      placeholder={placeholder}
      onInput={(e) => onSearch(e.currentTarget.value)}
    />
  );
}
