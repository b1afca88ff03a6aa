"""A 360 px wide phone: everything fits, and the main flows work."""


def no_sideways_scroll(b):
    wide = b.driver.execute_script("""
        const w = window.innerWidth;
        return [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > w + 0.5)
            .map(e => e.tagName + '.' + e.className + ' ' +
                 Math.round(e.getBoundingClientRect().right));""")
    assert not wide, f"wider than the screen: {wide[:5]}"
    return True


def test_phone_sized_viewport(browser, server):
    b = browser(360, 740)
    b.open("/signup")
    b.wait_heading("Create your organization")
    assert no_sideways_scroll(b)
    b.shot("mobile-signup")
    b.signup(org="Pocket Company With A Long Name", name="Mo Bile")
    assert no_sideways_scroll(b)
    b.click("Settings")
    b.wait_heading("Members")
    b.wait_text("Mo Bile", ".member-name")
    # The settings sections are all reachable on a phone.
    nav = b.find("nav[aria-label=Settings]")
    assert nav.is_displayed()
    for name in ("Members", "Socials", "API tokens", "Dead letters",
                 "Audit log"):
        assert name in nav.get_attribute("textContent")
    b.fill("Email", "phone-invite@example.test")
    b.click("Create invitation")
    b.wait_for("[data-testid=invite-result]")
    assert no_sideways_scroll(b)
    b.shot("mobile-members")
    # The newer screens fit too.
    for path, heading in (("/contacts", "Contacts"),
                          ("/settings/dead-letters", "Dead letters")):
        b.open(path)
        b.wait_heading(heading)
        b.wait_for(".state-empty")
        assert no_sideways_scroll(b)
    b.open("/inbox/new")
    b.wait_text("No accounts connected yet.")
    assert no_sideways_scroll(b)
    b.driver.execute_script("window.scrollTo(0, 0)")
    top = b.find(".topbar").rect
    assert top["height"] < 70, "the top bar fits on one line"
    panel = b.account_menu()
    assert no_sideways_scroll(b)
    b.shot("mobile-account-menu")
    b.click("Log out", panel)
    b.wait_path("/login")
