// Checks Kubernetes objects against Kubernetes' OpenAPI schemas and the Prometheus Operator's CRD schemas, as
// compiled by kubernetes-models (required fields, types, enums, formats). Reads a JSON array of objects on stdin and
// writes a JSON array with one entry per object: { kind, name, errors } (errors empty when valid). An apiVersion
// and kind without a schema here is an error, never a pass.
import { readFileSync } from "node:fs";

const packages = { "monitoring.coreos.com": "@kubernetes-models/prometheus-operator" };
const objects = JSON.parse(readFileSync(0, "utf8"));
const results = [];
for (const object of objects) {
  const { apiVersion = "", kind = "" } = object ?? {};
  const group = apiVersion.includes("/") ? apiVersion.split("/")[0] : "";
  const name = object?.metadata?.name ?? "";
  let errors = [];
  try {
    const module = await import(`${packages[group] ?? "kubernetes-models"}/${apiVersion}`);
    const Model = module[kind];
    if (typeof Model !== "function") {
      throw new Error(`no schema for ${kind} in ${apiVersion}`);
    }

    new Model(object).validate();
  } catch (error) {
    errors = [error.code === "ERR_MODULE_NOT_FOUND" || error.code === "ERR_PACKAGE_PATH_NOT_EXPORTED" ? `no schema for ${apiVersion}` : String(error.message)];
  }

  results.push({ kind, name, errors });
}

process.stdout.write(JSON.stringify(results));
