// Signs in, creates and lists resources, and branches on the contract's error codes.
// Run: GATEHOUSE_URL=http://localhost:8000 GATEHOUSE_EMAIL=... GATEHOUSE_PASSWORD=...
//      npm run example
import { bearer, gatehouseClient } from "./client.js";

const { GATEHOUSE_URL = "http://localhost:8000", GATEHOUSE_EMAIL = "", GATEHOUSE_PASSWORD = "" } =
  process.env;
const api = gatehouseClient(GATEHOUSE_URL);

async function signIn(email: string, password: string) {
  const { data, error, response } = await api.POST("/api/v1/auth/login/", {
    body: { email, password },
  });
  if (data) return data;
  // `error` is typed from the operation's documented error responses.
  if (error.code === "approval_pending") throw new Error("an admin has not approved you yet");
  if ("mfa_token" in error) throw new Error(`second factor due: ${error.mfa_token}`);
  throw new Error(`sign-in refused: ${response.status} ${error.code}`);
}

const wrong = await api.POST("/api/v1/auth/login/", {
  body: { email: GATEHOUSE_EMAIL, password: "not-the-password" },
});
if (wrong.error) console.log(`wrong password: ${wrong.response.status} ${wrong.error.code}`);

const { access, user } = await signIn(GATEHOUSE_EMAIL, GATEHOUSE_PASSWORD);
console.log(`signed in as ${user.email} (${user.status})`);
api.use(bearer(() => access));

const created = await api.POST("/api/v1/resources/", {
  body: { title: "Made by the TypeScript client", data: { tags: ["example"] } },
});
if (created.error) throw new Error(`create failed: ${created.error.code}`);
console.log(`created ${created.data.id}: ${created.data.title}`);

const page = await api.GET("/api/v1/resources/", { params: { query: { page_size: 100 } } });
if (page.error) throw new Error(`list failed: ${page.error.code}`);
console.log(`resources: ${page.data.count} (${page.data.results.map((r) => r.title).join(", ")})`);

