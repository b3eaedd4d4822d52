// auth.js - fetch for both pages of `scivec serve`. A server started with
// --api-key-file answers 401 without `Authorization: Bearer KEY`: the page
// asks for the key once and keeps it in sessionStorage (this tab only, gone
// when it closes); a key the server refuses is forgotten.
"use strict";

function authHeaders(options) {
  const key = sessionStorage.getItem("scivec-api-key");
  const headers = Object.assign({}, (options && options.headers) || {});
  if (key) headers["Authorization"] = "Bearer " + key;
  return Object.assign({}, options || {}, { headers });
}

async function keyedFetch(path, options) {
  let response = await fetch(path, authHeaders(options));
  if (response.status === 401) {
    const key = window.prompt("This server needs an API key:");
    if (key) {
      sessionStorage.setItem("scivec-api-key", key.trim());
      response = await fetch(path, authHeaders(options));
    }
    if (response.status === 401) sessionStorage.removeItem("scivec-api-key");
  }
  return response;
}
