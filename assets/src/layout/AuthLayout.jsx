// The frame of the signed-out screens (sign in, sign up, invitations):
// one centred card.
export function AuthLayout({ children }) {
  return (
    <div class="auth">
      <p class="auth-brand">
        <span class="logo" aria-hidden="true">
          ✉
        </span>
        Team inbox
      </p>
      <main id="main" class="auth-card">
        {children}
      </main>
    </div>
  );
}
