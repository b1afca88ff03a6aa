// Another organization for the signed-in person, who becomes its owner
// and is switched into it.
import { Field } from "../components/Field.jsx";
import { Form } from "../components/Form.jsx";
import { Page } from "../components/Page.jsx";
import { api } from "../lib/api.js";
import { useAction } from "../lib/hooks.js";
import { navigate } from "../lib/router.js";
import { useSession } from "../lib/session.js";

export function NewOrganization() {
  const { switchOrg } = useSession();
  const create = useAction(async (values) => {
    const org = await api.post("/organizations", values);
    await switchOrg(org.id);
    navigate("/settings/members");
  });

  return (
    <Page title="New organization" intro="You will be its owner. You can switch between organizations from the account menu.">
      <Form
        class="narrow"
        action={create}
        submitLabel="Create organization"
        busyLabel="Creating…"
        secondary={
          <a class="btn btn-quiet" href="#/inbox">
            Cancel
          </a>
        }
      >
        <Field label="Name" name="name" required maxLength={200} autocomplete="organization" />
      </Form>
    </Page>
  );
}
