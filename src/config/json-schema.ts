/** The JSON Schema of what a user WRITES in shipyard.json (defaults are optional), as stable text. */
import { z } from "zod";
import { ConfigSchema } from "./schema.js";

export function generateSchema(): string {
  const schema = z.toJSONSchema(ConfigSchema, { io: "input", target: "draft-2020-12" });
  return `${JSON.stringify({ ...schema, title: "Shipyard configuration (shipyard.json)" }, null, 2)}\n`;
}
