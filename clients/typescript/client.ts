// A typed client for the Gatehouse API. `schema.d.ts` is generated from the
// server's OpenAPI schema by `make client` (or `npm run generate`): never edit it.
import createClient, { type Middleware } from "openapi-fetch";

import type { components, paths } from "./schema.js";

export type ApiError = components["schemas"]["Error"];
export type Resource = components["schemas"]["Resource"];
export type User = components["schemas"]["User"];

/** A client for the API at `baseUrl`, the server's origin, e.g. `http://localhost:8000`. */
export function gatehouseClient(baseUrl: string) {
  return createClient<paths>({ baseUrl });
}

/** Sends `Authorization: Bearer <token>` on every request: `api.use(bearer(() => access))`. */
export function bearer(token: () => string | undefined): Middleware {
  return {
    onRequest({ request }) {
      const value = token();
      if (value) request.headers.set("Authorization", `Bearer ${value}`);
      return request;
    },
  };
}
