// Entry point: the stylesheet (esbuild writes it to dist/app.css) and the
// app, mounted over the "Loading…" placeholder of index.html.
import { render } from "preact";

import "./styles/app.css";
import { App } from "./App.jsx";

const root = document.getElementById("app");
root.textContent = "";
render(<App />, root);
