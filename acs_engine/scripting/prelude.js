// FieldACS script sandbox prelude: the provision / virtual-parameter API written in JavaScript.
// Part 1 of 2 (device data, paths, the script API); prelude_run.js continues this same function
// (determinism, faults and results, the entry points). sandbox.py joins them in that order.
//
// Evaluated once per V8 context; the resulting function is called with a nonce and returns
// the private inbox object. It installs one global, `__fieldacs__`, whose entry points (load,
// check, compile, run) only answer when given the nonce, which no script can reach. Scripts get the API as
// parameters of their wrapper function: args, declare, clear, commit, ext, log; `Date` and
// `Math.random` are replaced with deterministic versions. Built-ins are frozen afterwards so
// that no script can leave state behind for the next device.
(function (NONCE, MAX_BUFFER_BYTES) {
  "use strict";

  const G = globalThis;
  const PRELUDE_URL = "fieldacs-prelude.js";
  const TRY_CATCH_MESSAGE =
    "Declare function should not be called from within a try/catch block";
  // Thrown to unwind a script at a commit (or an ext/cron cache miss). Not an Error, so
  // `catch (e) { log(e.message) }` gets nothing useful; a swallowed STOP is detected.
  const STOP = Object.freeze({ fieldacs: "stop" });
  const ATTRS_COPY = new Set(["value", "accessList"]);
  const VALID_TYPES = new Set([
    "xsd:int", "xsd:unsignedInt", "xsd:boolean", "xsd:string", "xsd:dateTime",
    "xsd:base64", "xsd:hexBinary",
  ]);
  const RealDate = G.Date;
  const stringify = JSON.stringify;
  const parseJson = JSON.parse;

  // ---- device data (injected once per replay round) ---------------------------------------
  // `data` is the parsed JSON as given: path -> attributes, object paths ending in ".".
  // The set of known paths (with every ancestor) and the child index are built lazily:
  // a script reading only literal paths never needs them.
  const hasOwn = Object.prototype.hasOwnProperty;
  let data = {};
  let known = null; // every path and every ancestor of one (no trailing dots)
  let children = null; // parent path -> sorted child names
  const parsedPaths = new Map();
  const scripts = new Map(); // script id -> {fn, url, prefix}
  let st = null; // the state of the run in progress

  function load(json) {
    data = parseJson(json) || {};
    known = null;
    children = null;
  }

  // Bring `data` up to date with what changed since the last load or patch:
  // {"set": {key: entry}, "del": [key]} (see Python's _Engine.load).
  function patch(json) {
    const d = parseJson(json);
    let keysChanged = false;
    for (const key of d.del) {
      if (hasOwn.call(data, key)) {
        delete data[key];
        keysChanged = true;
      }
    }
    for (const key of Object.keys(d.set)) {
      if (!hasOwn.call(data, key)) keysChanged = true;
      // defineProperty, not assignment: a key such as "__proto__" stays a plain entry.
      Object.defineProperty(data, key, {
        value: d.set[key], writable: true, enumerable: true, configurable: true,
      });
    }
    if (keysChanged) {
      known = null;
      children = null;
    }
  }

  // Every key of `data` a run looks up is recorded in `st.reads`; a run that needs the set of
  // keys itself (wildcards, aliases, a path known only through its descendants) is marked
  // `st.structural`. The engine uses this to tell whether a replay can give another result.
  function has(key) {
    if (st) st.reads.add(key);
    return hasOwn.call(data, key);
  }

  // The attributes stored for a path, or undefined; `object` tells an object entry.
  function entryOf(path) {
    if (has(path)) return { attrs: data[path] || {}, isObject: false };
    if (has(path + ".")) return { attrs: data[path + "."] || {}, isObject: true };
    return undefined;
  }

  function knownPaths() {
    if (st) st.structural = true;
    if (!known) {
      known = new Set([""]);
      for (const key of Object.keys(data)) {
        let p = key.endsWith(".") ? key.slice(0, -1) : key;
        while (p && !known.has(p)) {
          known.add(p);
          const dot = p.lastIndexOf(".");
          if (dot < 0) break;
          p = p.slice(0, dot);
        }
      }
    }
    return known;
  }

  function exists(path) {
    return has(path) || has(path + ".") || knownPaths().has(path);
  }

  function naturalCompare(a, b) {
    const na = /^\d+$/.test(a), nb = /^\d+$/.test(b);
    if (na && nb) return Number(a) - Number(b);
    if (na !== nb) return na ? -1 : 1;
    return a < b ? -1 : a > b ? 1 : 0;
  }

  function childrenOf(parent) {
    if (st) st.structural = true;
    if (!children) {
      children = new Map();
      for (const p of knownPaths()) {
        if (!p) continue;
        const dot = p.lastIndexOf(".");
        const par = dot < 0 ? "" : p.slice(0, dot);
        let list = children.get(par);
        if (!list) children.set(par, (list = []));
        list.push(dot < 0 ? p : p.slice(dot + 1));
      }
      for (const list of children.values()) list.sort(naturalCompare);
    }
    return children.get(parent) || [];
  }

  // ---- paths and aliases --------------------------------------------------------------------
  function splitPath(path) {
    const segs = [];
    let cur = "", depth = 0, quote = null;
    for (let i = 0; i < path.length; i++) {
      const c = path[i];
      if (quote) {
        cur += c;
        if (c === "\\" && i + 1 < path.length) cur += path[++i];
        else if (c === quote) quote = null;
      } else if (depth && (c === '"' || c === "'")) {
        quote = c;
        cur += c;
      } else if (c === "[") {
        depth++;
        cur += c;
      } else if (c === "]") {
        if (!depth) throw new Error(`Invalid path: ${path}`);
        depth--;
        cur += c;
      } else if (c === "." && !depth) {
        segs.push(cur);
        cur = "";
      } else {
        cur += c;
      }
    }
    if (depth || quote) throw new Error(`Invalid path: ${path}`);
    segs.push(cur);
    return segs;
  }

  function parseAliasNew(text) {
    const conds = [];
    const re = /\s*(?:([A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|(true|false|null))\s*)/y;
    let pos = 0;
    for (;;) {
      re.lastIndex = pos;
      const m = re.exec(text);
      if (!m) return null;
      let value;
      if (m[2] !== undefined) value = m[2].replace(/\\(.)/g, "$1");
      else if (m[3] !== undefined) value = m[3].replace(/\\(.)/g, "$1");
      else if (m[4] !== undefined) value = Number(m[4]);
      else value = m[5] === "null" ? null : m[5] === "true";
      conds.push([m[1], value]);
      pos = re.lastIndex;
      if (pos === text.length) return conds;
      const and = /AND\b/iy;
      and.lastIndex = pos;
      if (!and.exec(text)) return null;
      pos = and.lastIndex;
    }
  }

  function parseAlias(text) {
    if (!text.trim()) return [];
    const conds = parseAliasNew(text);
    if (conds) return conds;
    // Legacy [Key:Value,Key2:Value2]: values trimmed, only the first ':' splits.
    return text.split(",").map((part) => {
      const i = part.indexOf(":");
      const key = i < 0 ? "" : part.slice(0, i).trim();
      if (!/^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*$/.test(key))
        throw new Error(`Invalid alias: [${text}]`);
      return [key, part.slice(i + 1).trim()];
    });
  }

  function parsePath(path) {
    if (typeof path !== "string") throw new TypeError("Path must be a string");
    let parsed = parsedPaths.get(path);
    if (parsed) return parsed;
    let text = path.endsWith(".") ? path.slice(0, -1) : path;
    parsed = text === "" ? [] : splitPath(text).map((seg) => {
      if (seg === "*") return { wild: true };
      if (seg.startsWith("[") && seg.endsWith("]"))
        return { alias: parseAlias(seg.slice(1, -1)) };
      if (!seg || /[\[\]*]/.test(seg)) throw new Error(`Invalid path: ${path}`);
      return { name: seg };
    });
    if (parsedPaths.size > 10000) parsedPaths.clear();
    parsedPaths.set(path, parsed);
    return parsed;
  }

  function sameValue(actual, expected) {
    if (actual === undefined) return false;
    if (expected === null) return actual === null || actual === "";
    if (typeof expected === "number") {
      if (typeof actual === "number") return actual === expected;
      if (typeof actual === "boolean") return Number(actual) === expected;
      return String(actual).trim() !== "" && Number(actual) === expected;
    }
    if (typeof expected === "boolean") {
      if (typeof actual === "boolean") return actual === expected;
      if (typeof actual === "number") return (actual !== 0) === expected;
      const s = String(actual).toLowerCase();
      return expected ? s === "true" || s === "1" : s === "false" || s === "0";
    }
    if (String(actual) === expected) return true;
    return typeof actual === "number" && expected.trim() !== "" && Number(expected) === actual;
  }

  function valueOf(path) {
    const entry = entryOf(path);
    const v = entry && entry.attrs.value;
    return Array.isArray(v) ? v[0] : undefined;
  }

  function unpack(parsed) {
    let current = [""];
    for (const seg of parsed) {
      const next = [];
      for (const prefix of current) {
        const base = prefix ? prefix + "." : "";
        if (seg.name !== undefined) {
          if (exists(base + seg.name)) next.push(base + seg.name);
          continue;
        }
        for (const child of childrenOf(prefix)) {
          const p = base + child;
          if (seg.alias && !seg.alias.every(([k, v]) => sameValue(valueOf(p + "." + k), v)))
            continue;
          next.push(p);
        }
      }
      current = next;
      if (!current.length) break;
    }
    return parsed.length ? current : [];
  }

  // ---- the API ------------------------------------------------------------------------------
  function guard() {
    if (st.stopped) {
      st.swallowed = true;
      throw new Error(TRY_CATCH_MESSAGE);
    }
  }

  function stop(reason) {
    st.stopped = reason;
    throw STOP;
  }

  function commit() {
    guard();
    st.revision++;
    st.uncommitted = false;
    if (st.revision > st.maxRevision) stop("commit");
  }

  function toTimestamp(t) {
    const n = t instanceof RealDate ? t.getTime() : Number(t);
    if (!Number.isFinite(n) || n < 1) return null;
    if (Math.trunc(n) > st.now) st.exact = true; // capped: depends on the session time
    return Math.min(Math.trunc(n), st.now);
  }

  function instanceCount(v) {
    const ok = (n) => Number.isInteger(n) && n >= 0;
    if (Array.isArray(v) && v.length === 2 && ok(v[0]) && ok(v[1]) && v[0] <= v[1]) return [v[0], v[1]];
    if (ok(v)) return v;
    throw new Error("Invalid instance count: expected n or [min, max]");
  }

  function plain(v) {
    if (v instanceof RealDate) return v.getTime();
    if (Array.isArray(v)) return v.map(plain);
    return v;
  }

  function makeWrapper(path, parsed, attrs, fixed) {
    let unpacked = fixed;
    const matches = () => {
      if (st.uncommitted) commit();
      guard();
      if (!unpacked) unpacked = unpack(parsed);
      return unpacked;
    };
    const wrapper = {};
    for (const attr of attrs) {
      Object.defineProperty(wrapper, attr, {
        get() {
          const m = matches();
          if (!m.length) return undefined;
          const entry = entryOf(m[0]);
          if (!entry) return attr === "object" ? true : undefined;
          let v = entry.attrs[attr];
          if (v === undefined && attr === "object" && entry.isObject) v = true;
          return ATTRS_COPY.has(attr) && Array.isArray(v) ? v.slice() : v;
        },
      });
    }
    Object.defineProperty(wrapper, "path", {
      get() {
        const m = matches();
        return m.length ? m[0] : undefined;
      },
    });
    Object.defineProperty(wrapper, "size", {
      get() {
        const m = matches();
        return m.length ? m.length : undefined;
      },
    });
    Object.defineProperty(wrapper, Symbol.iterator, {
      value: function* () {
        for (const p of matches()) yield makeWrapper(p, parsed, attrs, [p]);
      },
    });
    return Object.freeze(wrapper);
  }

  function declare(path, timestamps, values) {
    guard();
    st.uncommitted = true;
    const parsed = parsePath(path);
    timestamps = timestamps || {};
    values = values || {};
    const decl = { path: path, pathGet: 1, pathSet: null, attrGet: {}, attrSet: {} };
    const attrs = new Set();
    for (const [name, v] of Object.entries(values)) {
      if (name === "path") {
        decl.pathSet = instanceCount(v);
        continue;
      }
      attrs.add(name);
      decl.attrGet[name] = 1;
      decl.attrSet[name] = name === "value" && !Array.isArray(v) ? [plain(v)] : plain(v);
    }
    for (const [name, t] of Object.entries(timestamps)) {
      const ts = toTimestamp(t);
      if (name === "path") {
        if (ts !== null) decl.pathGet = ts;
        continue;
      }
      attrs.add(name);
      if (ts !== null) decl.attrGet[name] = Math.max(ts, decl.attrGet[name] || 0);
    }
    st.declarations.push(decl);
    return makeWrapper(path, parsed, attrs, null);
  }

  function clear(path, timestamp, attrTimestamps) {
    guard();
    st.uncommitted = true;
    parsePath(path);
    if (st.revision !== st.maxRevision) return;
    const attrs = {};
    for (const [name, t] of Object.entries(attrTimestamps || {})) {
      const ts = toTimestamp(t);
      if (ts !== null) attrs[name] = ts;
    }
    st.clears.push({ path: path, timestamp: toTimestamp(timestamp) || 0, attrs: attrs });
  }

  function ext(...callArgs) {
    guard();
    if (callArgs.length < 2) throw new Error("ext() needs a file name and a function name");
    const call = callArgs.map(String);
    const key = stringify(call);
    if (st.ext.has(key)) return st.ext.get(key);
    st.extNeeded = call;
    stop("ext");
  }

  function log(msg, meta) {
    guard();
    let line = String(msg);
    if (meta !== undefined && meta !== null) {
      try {
        line += " " + stringify(meta);
      } catch (e) {
        line += " [unserializable meta]";
      }
    }
    if (st.logs.length < 1000) st.logs.push(line);
  }
