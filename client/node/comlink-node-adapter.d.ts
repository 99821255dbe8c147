// Comlink ships this adapter's types as node-adapter.d.ts beside the .mjs, which TypeScript
// does not pair with an .mjs import: point the .mjs specifier at them.
declare module "comlink/dist/esm/node-adapter.mjs" {
  import nodeEndpoint from "comlink/dist/esm/node-adapter";
  export default nodeEndpoint;
}
