// A message box. Errors are announced at once (role="alert"); other
// kinds politely (role="status").
export function Notice({ kind = "info", title, children, ...rest }) {
  return (
    <div class={`notice notice-${kind}`} role={kind === "error" ? "alert" : "status"} {...rest}>
      {title && <strong class="notice-title">{title}</strong>}
      {children}
    </div>
  );
}
