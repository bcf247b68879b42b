  // FieldACS script sandbox prelude, part 2 of 2: the rest of prelude.js's function (sandbox.py
  // joins the two parts). Not a script of its own.

  // ---- determinism: Date and Math.random ----------------------------------------------------
  function dateNow(intervalOrCron, variance) {
    if (!st) return RealDate.now();
    let t = st.now;
    if (typeof intervalOrCron === "number") {
      if (!(intervalOrCron > 0)) throw new Error("Invalid Date.now() interval");
      if (variance == null) variance = intervalOrCron;
      const offset = variance ? st.hash % variance : 0;
      t = Math.trunc((t + offset) / intervalOrCron) * intervalOrCron - offset;
      st.buckets.add(intervalOrCron + "|" + offset);
    } else if (typeof intervalOrCron === "string") {
      guard();
      const offset = variance ? st.hash % variance : 0;
      const key = offset ? intervalOrCron + "|" + offset : intervalOrCron;
      if (!Object.prototype.hasOwnProperty.call(st.cron, key)) {
        st.cronNeeded = key;
        stop("cron");
      }
      t = st.cron[key];
    } else if (intervalOrCron) {
      throw new Error("Invalid Date.now() argument");
    } else {
      st.exact = true;
    }
    return t;
  }

  function SandboxDate(...a) {
    const when = st ? st.now : RealDate.now();
    if (st && (!new.target || !a.length)) st.exact = true;
    if (!new.target) return new RealDate(when).toString();
    return Reflect.construct(RealDate, a.length ? a : [when], new.target);
  }
  SandboxDate.prototype = RealDate.prototype;
  SandboxDate.now = dateNow;
  SandboxDate.parse = RealDate.parse;
  SandboxDate.UTC = RealDate.UTC;
  Object.defineProperty(RealDate.prototype, "constructor", { value: SandboxDate });

  // String -> 128-bit seed (four FNV-1a lanes), then xoshiro128** as the generator.
  function seedState(s) {
    const lanes = [0x811c9dc5, 0x01000193, 0x9e3779b9, 0x85ebca6b];
    const state = new Uint32Array(4);
    for (let l = 0; l < 4; l++) {
      let h = lanes[l] ^ s.length;
      for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193 + 2 * l);
      h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
      h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
      state[l] = (h ^ (h >>> 16)) >>> 0;
    }
    if (!(state[0] | state[1] | state[2] | state[3])) state[0] = 1;
    return state;
  }

  function nextRandom(s) {
    const r = Math.imul(((Math.imul(s[1], 5) << 7) | (Math.imul(s[1], 5) >>> 25)), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 11) | (s[3] >>> 21);
    return r / 4294967296;
  }

  const realRandom = Math.random;
  function random() {
    if (!st) return realRandom();
    if (!st.rng) st.rng = seedState(st.deviceId);
    return nextRandom(st.rng);
  }
  random.seed = function (s) {
    if (st) st.rng = seedState(String(s));
  };

  // ---- faults and results -------------------------------------------------------------------
  function trimStack(stack, script) {
    const lines = String(stack)
      .split("\n")
      .filter((l) => l.indexOf(PRELUDE_URL) < 0 && !/^\s+at <anonymous>:1:\d+$/.test(l));
    let text = lines.join("\n");
    if (script) {
      const first = new RegExp(script.url.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + ":1:(\\d+)", "g");
      text = text.replace(first, (m, col) => `${script.url}:1:${Math.max(1, col - script.prefix)}`);
    }
    return text;
  }

  function errorToFault(err, script) {
    try {
      if (err !== null && (typeof err === "object" || typeof err === "function") && err.name) {
        const name = String(err.name), message = String(err.message === undefined ? "" : err.message);
        const stack = typeof err.stack === "string" ? trimStack(err.stack, script) : `${name}: ${message}`;
        return { code: `script.${name}`, message: message, detail: { name, message, stack } };
      }
      const message = typeof err === "symbol" ? err.toString() : String(err);
      return { code: "script", message: message, detail: {} };
    } catch (e) {
      return { code: "script", message: "Script threw an unreadable value", detail: {} };
    }
  }

  function sanitizeValue(v, t) {
    if (v instanceof RealDate) v = v.getTime();
    switch (t) {
      case "xsd:int":
      case "xsd:unsignedInt": {
        const n = typeof v === "number" ? Math.trunc(v) : typeof v === "boolean" ? Number(v) : parseInt(String(v), 10);
        if (!Number.isFinite(n) || (t === "xsd:unsignedInt" && n < 0)) return undefined;
        return n;
      }
      case "xsd:boolean": {
        if (typeof v === "boolean") return v;
        if (typeof v === "number") return v !== 0;
        const s = String(v).trim().toLowerCase();
        if (s === "true" || s === "1") return true;
        if (s === "false" || s === "0") return false;
        return undefined;
      }
      case "xsd:dateTime": {
        if (typeof v === "number") return Number.isFinite(v) ? v : undefined;
        const ms = RealDate.parse(String(v));
        return Number.isNaN(ms) ? undefined : ms;
      }
      default:
        return typeof v === "object" ? undefined : String(v);
    }
  }

  function vparamResult(name, ret, vpArgs) {
    const fault = (message) => ({ fault: { code: "script", message, detail: {} } });
    if (!ret || typeof ret !== "object") return fault("Invalid virtual parameter return value");
    const declT = (vpArgs && vpArgs[0]) || {}, declV = (vpArgs && vpArgs[1]) || {};
    const out = {};
    if (ret.writable != null) out.writable = !!ret.writable;
    else if (declT.writable != null || declV.writable != null)
      return fault(`Virtual parameter '${name}' must provide 'writable' attribute`);
    if (ret.value != null) {
      let v, t;
      if (Array.isArray(ret.value)) [v, t] = ret.value;
      else v = ret.value;
      if (!t) {
        if (typeof v === "number") t = "xsd:int";
        else if (typeof v === "boolean") t = "xsd:boolean";
        else if (v instanceof RealDate) t = "xsd:dateTime";
        else t = "xsd:string";
      }
      const clean = v == null || !VALID_TYPES.has(t) ? undefined : sanitizeValue(v, t);
      if (clean === undefined) return fault("Invalid virtual parameter value attribute");
      out.value = [clean, t];
    } else if (declT.value != null || declV.value != null) {
      return fault(`Virtual parameter '${name}' must provide 'value' attribute`);
    }
    return { value: out };
  }

  function run(p) {
    const script = scripts.get(p.id);
    if (!script) throw new Error("script not compiled: " + p.id);
    bufferBytes = 0;
    st = {
      now: p.now, hash: p.hash, deviceId: p.deviceId, revision: 0, maxRevision: p.commitsDone,
      uncommitted: false, stopped: null, swallowed: false, declarations: [], clears: [],
      logs: [], ext: new Map(), cron: p.cron || {}, extNeeded: null, cronNeeded: null, rng: null,
      reads: new Set(), structural: false, buckets: new Set(), exact: false,
    };
    for (const [call, value] of p.ext || []) st.ext.set(stringify(call.map(String)), value);
    const out = { status: "done", commits: 0, fault: null, ret: null };
    let ret;
    try {
      ret = script.fn.call(undefined, p.args, declare, clear, commit, ext, log);
    } catch (err) {
      if (err === STOP && !st.swallowed) out.status = st.stopped;
      else if (st.stopped) out.fault = errorToFault(new Error(TRY_CATCH_MESSAGE), script);
      else out.fault = errorToFault(err, script);
    }
    if (!out.fault && out.status === "done" && st.stopped)
      out.fault = errorToFault(new Error(TRY_CATCH_MESSAGE), script);
    if (out.fault) out.status = "fault";
    if (out.status === "done" && p.vparam) {
      const r = vparamResult(p.name, ret, p.args);
      if (r.fault) {
        out.fault = r.fault;
        out.status = "fault";
      } else {
        out.ret = r.value;
      }
    }
    out.commits = st.revision;
    out.declarations = st.declarations;
    out.clears = out.status === "done" || out.status === "commit" ? st.clears : [];
    out.logs = st.logs;
    out.ext = st.extNeeded;
    out.cron = st.cronNeeded;
    out.reads = st.structural ? null : Array.from(st.reads);
    // What of the session time the run saw: Date.now(interval) buckets ("interval|offset"),
    // or the exact time (Date.now(), new Date(), a declared timestamp past it).
    out.time = st.exact ? null : Array.from(st.buckets);
    st = null;
    return stringify(out, (k, v) => (typeof v === "bigint" ? String(v) : v));
  }

  function checkBody(source) {
    try {
      new Function("args", "declare", "clear", "commit", "ext", "log", '"use strict";' + source + "\n");
      return null;
    } catch (e) {
      return String(e && e.message);
    }
  }

  function gate(nonce) {
    // A run cut short by the time limit leaves `st` behind; every entry point resets what
    // it needs, so only the nonce is checked.
    if (nonce !== NONCE) throw new Error("Not allowed");
  }

  // Python puts large inputs here (as V8 strings, never as source text, so that no unique
  // code is compiled per run) and then calls an entry point with a constant code string.
  const inbox = Object.create(null);
  function take(name) {
    const v = inbox[name];
    delete inbox[name];
    return v;
  }

  const api = Object.freeze({
    load(nonce) {
      gate(nonce);
      load(take("data"));
      return true;
    },
    check(nonce) {
      gate(nonce);
      return checkBody(take("source"));
    },
    compile(nonce, id, url, prefix, fn) {
      gate(nonce);
      if (scripts.size > 2000) scripts.clear();
      scripts.set(id, { fn, url, prefix });
      return true;
    },
    run(nonce) {
      gate(nonce);
      const delta = take("patch");
      if (delta !== undefined) patch(delta);
      return run(parseJson(take("payload")));
    },
  });

  // ---- memory outside the heap limit ---------------------------------------------------------
  // ArrayBuffer memory (typed arrays, DataView's buffers) lives outside V8's heap, so the heap
  // limit does not bound it, and built-ins over huge typed arrays (sort, fill) run long without
  // checking the time limit. Every constructor that allocates one is replaced by a wrapper
  // that charges a per-run budget (MAX_BUFFER_BYTES, all buffers of one run together) before
  // allocating; from/of/map/filter/slice go through the wrapper (species), and the copying
  // methods that do not (toReversed, toSorted, with, transfer) are charged explicitly. The
  // real constructors stay unreachable: their prototypes' `constructor` is the wrapper.
  // SharedArrayBuffer and WebAssembly (whose Memory is also outside the heap) are removed.
  let bufferBytes = 0;
  function charge(bytes) {
    const n = Number(bytes);
    if (!(n > 0)) return;
    if (bufferBytes + n > MAX_BUFFER_BYTES)
      throw new RangeError(
        `ArrayBuffer memory limit exceeded: a script may allocate ${MAX_BUFFER_BYTES} bytes`);
    bufferBytes += n;
  }
  const hardened = [];
  function defineGlobal(name, value) {
    Object.defineProperty(G, name, { value, writable: false, configurable: false });
  }
  const RealArrayBuffer = G.ArrayBuffer;
  const SandboxArrayBuffer = function ArrayBuffer(length, options) {
    if (new.target === undefined) throw new TypeError("Constructor ArrayBuffer requires 'new'");
    const max = options != null && typeof options === "object" ? options.maxByteLength : 0;
    charge(Math.max(Number(length) || 0, Number(max) || 0));
    return Reflect.construct(RealArrayBuffer, [length, options],
      new.target === SandboxArrayBuffer ? RealArrayBuffer : new.target);
  };
  SandboxArrayBuffer.prototype = RealArrayBuffer.prototype;
  Object.setPrototypeOf(SandboxArrayBuffer, Object.getPrototypeOf(RealArrayBuffer));
  SandboxArrayBuffer.isView = RealArrayBuffer.isView;
  Object.defineProperty(SandboxArrayBuffer, Symbol.species, { get() { return this; } });
  Object.defineProperty(RealArrayBuffer.prototype, "constructor",
    { value: SandboxArrayBuffer, writable: false, configurable: false });
  for (const name of ["transfer", "transferToFixedLength"]) {
    const real = RealArrayBuffer.prototype[name];
    if (typeof real !== "function") continue;
    Object.defineProperty(RealArrayBuffer.prototype, name, {
      value: { [name](length) { charge(length === undefined ? this.byteLength : length);
        return Reflect.apply(real, this, arguments); } }[name],
      writable: false, configurable: false,
    });
  }
  defineGlobal("ArrayBuffer", SandboxArrayBuffer);
  hardened.push(SandboxArrayBuffer, RealArrayBuffer.prototype);
  const TypedArrayProto = Object.getPrototypeOf(Int8Array.prototype);
  for (const name of ["toReversed", "toSorted", "with"]) {
    const real = TypedArrayProto[name];
    if (typeof real !== "function") continue;
    Object.defineProperty(TypedArrayProto, name, {
      value: { [name]() { charge(this.byteLength); return Reflect.apply(real, this, arguments); } }[name],
      writable: false, configurable: false,
    });
  }
  hardened.push(Object.getPrototypeOf(Int8Array), TypedArrayProto);
  for (const name of ["Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array",
    "Uint16Array", "Int32Array", "Uint32Array", "Float16Array", "Float32Array",
    "Float64Array", "BigInt64Array", "BigUint64Array"]) {
    const Real = G[name];
    if (typeof Real !== "function") continue;
    const size = Real.BYTES_PER_ELEMENT;
    const Wrapped = { [name]: function (first) {
      if (new.target === undefined) throw new TypeError(`Constructor ${name} requires 'new'`);
      const target = new.target === Wrapped ? Real : new.target;
      if (first === null || typeof first !== "object") {
        charge((Number(first) || 0) * size);
        return Reflect.construct(Real, arguments, target);
      }
      if (first instanceof RealArrayBuffer) return Reflect.construct(Real, arguments, target);
      const length = Number(first.length);
      if (length >= 0) charge(length * size);
      const made = Reflect.construct(Real, arguments, target);
      if (!(length >= 0)) charge(made.byteLength);  // an iterable without a length
      return made;
    } }[name];
    Wrapped.prototype = Real.prototype;
    Object.setPrototypeOf(Wrapped, Object.getPrototypeOf(Real));
    Object.defineProperty(Wrapped, "BYTES_PER_ELEMENT", { value: size });
    Object.defineProperty(Real.prototype, "constructor",
      { value: Wrapped, writable: false, configurable: false });
    defineGlobal(name, Wrapped);
    hardened.push(Wrapped, Real.prototype);
  }
  hardened.push(DataView, DataView.prototype);

  // ---- lock the realm down ------------------------------------------------------------------
  Math.random = random;
  Object.defineProperty(G, "Date", { value: SandboxDate, writable: false, configurable: false });
  for (const name of ["console", "__timer_manager", "setTimeout", "clearTimeout", "Atomics",
    "SharedArrayBuffer", "WebAssembly"]) {
    const desc = Object.getOwnPropertyDescriptor(G, name);
    if (!desc) continue;
    if (desc.configurable) delete G[name];
    else Object.defineProperty(G, name, { value: undefined, writable: false });
  }
  Object.defineProperty(G, "__fieldacs__", { value: api, writable: false, configurable: false });
  const iterProto = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]()));
  const genProto = Object.getPrototypeOf(function* () {}).prototype;
  const frozen = [
    Object, Object.prototype, Array, Array.prototype, Function, Function.prototype, String,
    String.prototype, Number, Number.prototype, Boolean, Boolean.prototype, Symbol,
    Symbol.prototype, RegExp, RegExp.prototype, Map, Map.prototype, Set, Set.prototype,
    WeakMap, WeakMap.prototype, WeakSet, WeakSet.prototype, Promise, Promise.prototype,
    Math, Math.random, JSON, Reflect, SandboxDate, RealDate, RealDate.prototype, iterProto,
    genProto, Object.getPrototypeOf(genProto), Error, TypeError, RangeError, SyntaxError,
    ReferenceError, EvalError, URIError,
  ];
  for (const o of [...frozen, ...hardened]) Object.freeze(o);
  Object.preventExtensions(G);
  return inbox;
});
//# sourceURL=fieldacs-prelude.js
