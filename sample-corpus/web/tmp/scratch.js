// scratch: trying out a prefix scan against a local gateway
// ignored_marker
const api = new (await import("../src/api.js")).KvStoreApi("http://localhost:8081/api/kv");
for (const k of ["a", "b", "c"]) {
  await api.put("scratch:" + k, k.repeat(10));
}
console.log(await api.list("scratch:"));
