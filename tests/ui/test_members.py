"""Settings › Members: invitations (new and existing people, each in
their own browser), role changes, removal, and what agents may see."""
from apiclient import PASSWORD, add_member, login, signup, unique_email


def invite(b, email, role="agent"):
    """Invites email from Settings › Members; returns the link shown."""
    b.open("/settings/members")
    b.wait_heading("Members")
    b.fill("Email", email)
    b.choose("Role", role)
    b.click("Create invitation")
    result = b.wait_for("[data-testid=invite-result]")
    link = b.field("Invitation link", result).get_attribute("value")
    assert email in result.text
    return link


def test_invite_a_new_person_who_accepts_in_their_own_browser(browser, server):
    owner = browser()
    owner.signup(org="Invite Co", name="Olive Owner")
    email = unique_email("newbie")
    link = invite(owner, email, "agent")
    assert link.startswith(server.url + "/#/invite/inv_")
    owner.click("Copy")
    owner.wait_text("Copied")
    owner.shot("members-invite")
    row = owner.wait_for("[data-testid=invitation-row]")
    assert email in row.text

    guest = browser()
    guest.driver.get(link)
    guest.wait_heading("Join Invite Co")
    facts = guest.find(".facts").text
    assert "Invite Co" in facts and email in facts and "Agent" in facts
    guest.shot("invite-accept")
    guest.fill("Your name", "Nico Newbie")
    guest.fill("Password", PASSWORD)
    guest.click("Join Invite Co")
    guest.wait_path("/inbox")
    assert guest.current_org() == "Invite Co"
    assert "Agent" in guest.find(".account-button").text

    # The owner sees the new member, and the invitation is used up.
    owner.open("/settings/members")
    owner.wait_text("Nico Newbie", ".member-name")
    owner.wait_text("No open invitations.")
    guest.open("/invite/" + link.split("/#/invite/")[1])
    guest.wait_text("This invitation is invalid, expired or already used")


def test_an_existing_account_accepts_with_its_password(browser, server):
    other = signup(server.url, org="Elsewhere", name="Ezra Existing")
    owner = browser()
    owner.signup(org="Second Home")
    link = invite(owner, other.email, "admin")

    guest = browser()
    guest.driver.get(link)
    guest.wait_heading("Join Second Home")
    assert not guest.find_all("input[autocomplete=name]")
    guest.fill("Password", "wrong password here")
    guest.click("Join Second Home")
    guest.wait_text("Email or password is incorrect", ".notice-error")
    guest.fill("Password", PASSWORD)
    guest.click("Join Second Home")
    guest.wait_path("/inbox")
    assert guest.current_org() == "Second Home"
    panel = guest.account_menu()
    assert "Elsewhere" in panel.text


def test_owner_changes_a_role_and_removes_a_member(browser, server):
    owner = browser()
    email = owner.signup(org="Roles Inc", name="Rita Roles")
    api_owner = login(server.url, email)
    add_member(server.url, api_owner, role="agent", name="Adam Agent")
    add_member(server.url, api_owner, role="agent", name="Gone Soon")

    owner.open("/settings/members")
    owner.wait_text("Adam Agent", ".member-name")
    owner.choose("Role of Adam Agent", "admin")
    owner.wait.until(lambda d: role_of(api_owner, "Adam Agent") == "admin")
    owner.shot("members")
    # After a reload the page shows what the server has.
    owner.driver.refresh()
    owner.wait_text("Adam Agent", ".member-name")
    assert owner.field("Role of Adam Agent").get_attribute("value") == "admin"

    owner.confirm("Remove Gone Soon", "Remove")
    owner.wait.until(lambda d: "Gone Soon" not in owner.find("main").text)
    assert role_of(api_owner, "Gone Soon") is None

    # The last owner cannot step down: the server says why, in the row.
    owner.choose("Role of Rita Roles", "agent")
    owner.wait_text("at least one owner", ".row-error")
    assert owner.field("Role of Rita Roles").get_attribute("value") == "owner"


def role_of(client, name):
    for m in client.get("/api/v1/members").json()["data"]:
        if m["name"] == name:
            return m["role"]
    return None


def test_agents_see_members_but_no_admin_settings(browser, server):
    api_owner = signup(server.url, org="Agents Only")
    agent = add_member(server.url, api_owner, role="agent", name="Aggie Agent")
    b = browser()
    b.login(agent.email)
    b.wait_path("/inbox")
    b.click("Settings")
    b.wait_heading("Members")
    b.wait_text("Aggie Agent", ".member-name")
    nav = b.find("nav[aria-label=Settings]").text
    assert "Members" in nav and "Socials" in nav
    assert "API tokens" not in nav and "Audit log" not in nav
    assert "Dead letters" not in nav
    assert not b.find_all("main select"), "agents cannot change roles"
    assert "Invite someone" not in b.text()
    assert "Remove" not in b.find("main").text
    b.shot("members-agent")
    b.open("/settings/api-tokens")
    b.wait_text("Only owners and admins can open this.")
    b.open("/settings/audit-log")
    b.wait_text("Only owners and admins can open this.")
    b.open("/settings/dead-letters")
    b.wait_text("Only owners and admins can open this.")


def test_admins_cannot_touch_owners(browser, server):
    api_owner = signup(server.url, org="Admin Limits", name="Owen Owner")
    admin = add_member(server.url, api_owner, role="admin", name="Ada Admin")
    b = browser()
    b.login(admin.email)
    b.wait_path("/inbox")
    b.open("/settings/members")
    b.wait_text("Owen Owner", ".member-name")
    rows = {r.find_element("css selector", ".member-name").text: r
            for r in b.find_all("[data-testid=member-row]")}
    assert not b.find_all("select", rows["Owen Owner"])
    options = [o.get_attribute("value") for o in
               b.find_all("option", b.field("Role of Ada Admin"))]
    assert "owner" not in options
    invite_roles = [o.get_attribute("value") for o in
                    b.find_all("option", b.field("Role"))]
    assert invite_roles == ["agent", "admin"]


def test_a_member_leaves_and_signs_in_to_their_other_organization(
        browser, server):
    api_owner = signup(server.url, org="Left Behind")
    agent = add_member(server.url, api_owner, role="agent", name="Lee Leaver")
    other = signup(server.url, org="Home Base")
    r = other.post("/api/v1/invitations", {"email": agent.email,
                                            "role": "admin"})
    assert r.status_code == 201, r.text
    r = agent.post("/api/v1/invitations/accept", {
        "token": r.json()["token"], "password": PASSWORD})
    assert r.status_code == 200, r.text

    b = browser()
    b.login(agent.email)
    b.wait_path("/inbox")
    if b.current_org() != "Left Behind":
        b.find(".account-orgs button", b.account_menu()).click()
        b.wait.until(lambda d: b.current_org() == "Left Behind")
    b.open("/settings/members")
    b.wait_text("Lee Leaver", ".member-name")
    b.confirm("Leave Left Behind", "Leave")
    b.wait_path("/login")
    b.wait_text("You left Left Behind.")
    assert role_of(api_owner, "Lee Leaver") is None
    b.fill("Email", agent.email)
    b.fill("Password", PASSWORD)
    b.click("Sign in")
    b.wait_path("/inbox")
    assert b.current_org() == "Home Base"
    assert "Left Behind" not in b.account_menu().text
