// Checks a jiliang certificate in the visitor's browser, with WebCrypto and nothing else:
//   (a) the institution's signature over the exact signed bytes (Ed25519; SM2-SM3 cannot be
//       checked by browsers and is reported as such),
//   (b) the ledger leaf records this certificate (number, SHA-256 of the payload, signature, key),
//   (c) the leaf's inclusion proof leads to the checkpoint's root (RFC 9162 §2.1.3.2),
//   (d) the checkpoint is a C2SP signed note carrying a valid Ed25519 signature of a published
//       platform key that was not reported compromised when it signed.
// The pure functions are exported (and tested against the Python implementation); `main` fills
// the page served at /public/verify/{number}?token=… in the page's language (<html lang>).

const utf8 = new TextEncoder();
const ED25519_SPKI_PREFIX = Uint8Array.of(0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00);
const NOTE_ED25519 = Uint8Array.of(0x01); // c2sp.org/signed-note signature type of Ed25519
const NOTE_SM2 = concat(Uint8Array.of(0xff), utf8.encode("jiliang/sm2-sm3")); // jiliang's SM2/SM3 co-signature
const KEY_NAME = /^[^\s+]+$/;
const FINAL = ["revoked", "superseded", "expired"];

// ------------------------------------------------------------------ bytes

export function b64decode(text) {
  if (typeof text !== "string" || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
    throw new Error("not base64");
  }
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

export function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function equalBytes(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

// ------------------------------------------------------------------ RFC 9162 Merkle tree

/** Leaf hash: SHA-256(0x00 ‖ data). */
export function leafHash(data) {
  return sha256(concat(Uint8Array.of(0), data));
}

/** Interior node: SHA-256(0x01 ‖ left ‖ right). */
export function nodeHash(left, right) {
  return sha256(concat(Uint8Array.of(1), left, right));
}

/** RFC 9162 §2.1.3.2: does `leaf` (a leaf hash) sit at `index` of the tree of `size` with root `root`?
 * A line-by-line port of jiliang.ledger.merkle.verify_inclusion (BigInt: no 32-bit overflow). */
export async function verifyInclusion(leaf, index, size, proof, root) {
  let fn = BigInt(index);
  let sn = BigInt(size) - 1n;
  if (fn < 0n || fn > sn) return false;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && equalBytes(r, root);
}

// ------------------------------------------------------------------ C2SP signed notes and checkpoints

/** The note text (up to and including the newline before the blank line) and its signature lines. */
export function splitNote(text) {
  if (/[\u0000-\u0009\u000b-\u001f]/.test(text)) throw new Error("a signed note must not contain control characters");
  const cut = text.lastIndexOf("\n\n");
  if (cut < 0 || !text.endsWith("\n")) throw new Error("a signed note is text, a blank line, then signature lines");
  const body = text.slice(0, cut + 1);
  const lines = text
    .slice(cut + 2, -1)
    .split("\n")
    .map((line) => {
      const parts = line.split(" ");
      if (parts.length !== 3 || parts[0] !== "\u2014" || !KEY_NAME.test(parts[1])) {
        throw new Error(`malformed signature line ${JSON.stringify(line)}`);
      }
      const raw = b64decode(parts[2]);
      if (raw.length < 5) throw new Error(`signature of ${parts[1]} is too short`);
      return { name: parts[1], keyId: raw.subarray(0, 4), signature: raw.subarray(4) };
    });
  return { body, lines };
}

/** c2sp.org/tlog-checkpoint: origin, decimal size, base64 root hash, then extension lines. */
export function parseCheckpoint(body) {
  const lines = body.split("\n");
  if (lines.length < 4 || lines.at(-1) !== "" || !/^(0|[1-9][0-9]*)$/.test(lines[1])) {
    throw new Error("not a checkpoint: expected origin, decimal size and base64 root hash lines");
  }
  const root = b64decode(lines[2]);
  if (root.length !== 32) throw new Error("checkpoint root hash is not 32 bytes");
  const extensions = lines.slice(3, -1);
  const time = extensions.find((e) => e.startsWith("time "));
  return { origin: lines[0], size: BigInt(lines[1]), root, extensions, time: time ? time.slice(5) : null };
}

/** Key ID of a signed-note key: SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4]. */
export async function noteKeyId(name, type, publicKey) {
  return (await sha256(concat(utf8.encode(name), Uint8Array.of(0x0a), type, publicKey))).subarray(0, 4);
}

// ------------------------------------------------------------------ keys and signatures

export function pemToDer(pem) {
  return b64decode(pem.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, "").replace(/\s+/g, ""));
}

/** The raw 32-byte key inside an Ed25519 SubjectPublicKeyInfo (RFC 8410). */
export function ed25519Raw(der) {
  if (der.length !== 44 || !equalBytes(der.subarray(0, 12), ED25519_SPKI_PREFIX)) {
    throw new Error("not an Ed25519 public key");
  }
  return der.subarray(12);
}

class Unsupported extends Error {}

/** Ed25519 verification by WebCrypto; throws Unsupported where the browser lacks Ed25519. */
export async function verifyEd25519(spki, signature, message) {
  let key;
  try {
    key = await crypto.subtle.importKey("spki", spki, { name: "Ed25519" }, false, ["verify"]);
  } catch (err) {
    if (err && err.name === "NotSupportedError") throw new Unsupported("this browser has no Ed25519");
    throw err;
  }
  return crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
}

function instant(text) {
  // RFC 3339 with microseconds ("…49.999005+00:00"): keep milliseconds, which Date parses everywhere
  return typeof text === "string" ? Date.parse(text.replace(/(\.\d{3})\d+/, "$1")) : NaN;
}

const SHANGHAI = new Intl.DateTimeFormat("sv-SE", {
  timeZone: "Asia/Shanghai",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});

/** An RFC 3339 time as shown to people: Asia/Shanghai, "2026-11-27 18:07:08". */
export function shanghaiTime(text) {
  const t = instant(text);
  return Number.isNaN(t) ? String(text) : SHANGHAI.format(new Date(t));
}

/** Was the key already reported compromised at `moment` (unknown moment: assume so)? As KeyEntry.compromised_at. */
export function compromisedAt(key, moment) {
  if (!key.compromised_from) return false;
  const t = instant(moment);
  return Number.isNaN(t) || t >= instant(key.compromised_from);
}

// ------------------------------------------------------------------ the four checks

const pass = (zh, en) => ({ result: "pass", zh, en });
const fail = (zh, en) => ({ result: "fail", zh, en });
const unavailable = (zh, en) => ({ result: "unavailable", zh, en });
const skipped = (zh, en) => ({ result: "skipped", zh, en });

async function checkSignature(proof, payload, payloadBytes, keys) {
  const sig = proof.signature || {};
  const key = keys.find((k) => k.kid === sig.kid);
  if (!key) return fail(`签名密钥 ${sig.kid} 未公布`, `signing key ${sig.kid} is not published`);
  if (key.alg !== sig.alg) return fail(`密钥算法为 ${key.alg}，签名却标为 ${sig.alg}`, `key is ${key.alg}, signature says ${sig.alg}`);
  const issuer = payload && payload.issuer ? payload.issuer.code : undefined;
  if (key.owner !== issuer) {
    return fail(`密钥属于 ${key.owner}，证书却由 ${issuer} 签发`, `the key belongs to ${key.owner}, the certificate names ${issuer}`);
  }
  if (compromisedAt(key, payload.issued_at)) {
    return fail(
      `密钥 ${key.kid} 自 ${shanghaiTime(key.compromised_from)} 起已报告泄露，证书签发于其后`,
      `key ${key.kid} was reported compromised from ${shanghaiTime(key.compromised_from)}, before this certificate was issued`,
    );
  }
  if (sig.alg === "SM2-SM3") {
    return unavailable(
      `国密 SM2-SM3 签名无法在浏览器中核验（浏览器不支持 SM2）；密钥 ${key.kid}`,
      `SM2-SM3 signatures cannot be checked in a browser (no browser implements SM2); key ${key.kid}`,
    );
  }
  if (sig.alg !== "Ed25519") return fail(`未知的签名算法 ${sig.alg}`, `unknown signature algorithm ${sig.alg}`);
  try {
    if (await verifyEd25519(pemToDer(key.public_key_pem), b64decode(sig.value), payloadBytes)) {
      return pass(`Ed25519 签名有效，${key.owner} 的密钥 ${key.kid}`, `valid Ed25519 signature by ${key.owner}'s key ${key.kid}`);
    }
  } catch (err) {
    if (err instanceof Unsupported) {
      return unavailable("此浏览器不支持 Ed25519，请换用较新的浏览器", "this browser does not support Ed25519: try a newer one");
    }
  }
  return fail("签名与证书内容不符", "the signature does not match the certificate's bytes");
}

async function checkLeaf(number, proof, payload, payloadBytes, leaf) {
  if (!leaf) return fail("账本中没有这张证书的记录", "the ledger holds no entry for this certificate");
  const f = leaf.fields || {};
  const problems = [];
  if (leaf.kind !== "certificate" || leaf.id !== number || f.number !== number) {
    problems.push(["账本记录的是另一条记录", `the entry records ${leaf.kind} ${leaf.id}, not certificate ${number}`]);
  }
  if (!payload || payload.number !== number) {
    problems.push(["签名内容中的证书编号不符", "the signed bytes name another certificate number"]);
  }
  if (f.payload_sha256 !== hex(await sha256(payloadBytes))) {
    problems.push(["账本中的 SHA-256 与证书内容不符", "the SHA-256 in the ledger differs from the certificate's bytes"]);
  }
  if (f.signature !== (proof.signature || {}).value) {
    problems.push(["账本中的签名与证书签名不同", "the ledger holds another signature"]);
  }
  if (f.kid !== (proof.signature || {}).kid) {
    problems.push(["账本中的密钥标识不同", "the ledger names another signing key"]);
  }
  if (problems.length) return fail(problems.map((p) => p[0]).join("；"), problems.map((p) => p[1]).join("; "));
  return pass(
    `第 ${leaf.version} 版记录：证书编号、内容 SHA-256、签名与密钥一致`,
    `entry version ${leaf.version}: number, SHA-256 of the content, signature and key all agree`,
  );
}

async function checkInclusion(bundle, leafText, checkpoint) {
  if (!checkpoint) return fail("检查点无法解析", "the checkpoint cannot be read");
  if (!Number.isSafeInteger(bundle.index) || bundle.index < 0) return fail("叶子序号无效", "the leaf index is not a number");
  let proof;
  try {
    proof = bundle.inclusion_proof.map(b64decode);
  } catch {
    return fail("包含证明已损坏", "the inclusion proof is damaged");
  }
  const ok = await verifyInclusion(await leafHash(utf8.encode(leafText)), bundle.index, checkpoint.size, proof, checkpoint.root);
  if (!ok) {
    return fail(
      `包含证明不能把该记录放在第 ${bundle.index} 号叶子（树大小 ${checkpoint.size}）`,
      `the inclusion proof does not place this entry at index ${bundle.index} of the tree of size ${checkpoint.size}`,
    );
  }
  return pass(
    `${proof.length} 个哈希算出检查点的根哈希（树大小 ${checkpoint.size}）`,
    `${proof.length} hashes lead to the checkpoint's root (tree size ${checkpoint.size})`,
  );
}

async function checkCheckpoint(note, checkpoint, keys) {
  if (!checkpoint) return { check: fail("检查点格式有误", "the checkpoint is malformed"), key: null };
  const body = utf8.encode(note.body);
  const known = new Set();
  let signedBy = null;
  let unsupported = false;
  for (const key of keys.filter((k) => k.owner === "platform" && k.alg === "Ed25519")) {
    let spki, id;
    try {
      spki = pemToDer(key.public_key_pem);
      id = await noteKeyId(checkpoint.origin, NOTE_ED25519, ed25519Raw(spki));
    } catch {
      continue;
    }
    const line = note.lines.find((l) => l.name === checkpoint.origin && equalBytes(l.keyId, id));
    if (!line) continue;
    known.add(line);
    try {
      if (line.signature.length === 64 && (await verifyEd25519(spki, line.signature, body))) {
        signedBy = { key, keyId: hex(id) };
        break;
      }
    } catch (err) {
      if (err instanceof Unsupported) unsupported = true;
    }
  }
  let sm2 = 0;
  for (const key of keys.filter((k) => k.owner === "platform-sm2")) {
    try {
      const id = await noteKeyId(checkpoint.origin, NOTE_SM2, pemToDer(key.public_key_pem));
      for (const l of note.lines.filter((l) => l.name === checkpoint.origin && equalBytes(l.keyId, id))) {
        known.add(l);
        sm2 += 1;
      }
    } catch {
      // a key that cannot be read is simply not matched
    }
  }
  // SM2 (no browser implements it) and witness cosignatures are listed, not checked
  const notChecked = [];
  if (sm2) notChecked.push([`${sm2} 个 SM2 签名`, `${sm2} SM2 signature(s)`]);
  const rest = note.lines.length - known.size;
  if (rest) notChecked.push([`${rest} 个见证或其他签名`, `${rest} witness or other signature(s)`]);
  const aside = notChecked.length
    ? [
        `；另有 ${notChecked.map((n) => n[0]).join("、")}未在浏览器中核验`,
        `; not checked in the browser: ${notChecked.map((n) => n[1]).join(", ")}`,
      ]
    : ["", ""];
  if (unsupported && !signedBy) {
    return { check: unavailable("此浏览器不支持 Ed25519", "this browser does not support Ed25519"), key: null };
  }
  if (!signedBy) {
    return { check: fail("检查点没有任何已公布平台密钥的有效签名", "no valid signature of a published platform key"), key: null };
  }
  const { key, keyId } = signedBy;
  if (compromisedAt(key, checkpoint.time)) {
    return {
      check: fail(
        `平台密钥 ${key.kid} 自 ${shanghaiTime(key.compromised_from)} 起已报告泄露，检查点签于 ${shanghaiTime(checkpoint.time)}`,
        `platform key ${key.kid} was reported compromised from ${shanghaiTime(key.compromised_from)}; the checkpoint is dated ${shanghaiTime(checkpoint.time)}`,
      ),
      key: signedBy,
    };
  }
  return {
    check: pass(
      `平台密钥 ${key.kid}（签名标识 ${keyId}）签于 ${shanghaiTime(checkpoint.time)}（北京时间）${aside[0]}`,
      `signed by platform key ${key.kid} (note key ID ${keyId}) at ${shanghaiTime(checkpoint.time)} Shanghai time${aside[1]}`,
    ),
    key: signedBy,
  };
}

// ------------------------------------------------------------------ the whole certificate

/** The certificate's facts as the signed bytes state them. */
export function factsOf(payload) {
  const ins = payload.instrument || {};
  const rec = payload.record || {};
  const issuer = payload.issuer || {};
  return {
    title: payload.title,
    number: payload.number,
    instrument: ins.name,
    type: ins.type,
    item: ins.item,
    serial: ins.serial_no,
    issuerName: issuer.name,
    issuerCode: issuer.code,
    date: rec.performed_on,
    validUntil: payload.valid_until,
    replaceBy: payload.replace_by,
    conclusion: payload.conclusion,
    decisionRule: rec.decision_rule,
    issuedAt: payload.issued_at,
    stage: rec.stage,
    advisory: payload.advisory === true,
    tests: Array.isArray(payload.tests) ? payload.tests : [],
    rules: rulesOf(payload.points),
  };
}

/** Each distinct source of the limits the points were judged by, with its confidence and advisory flag. */
export function rulesOf(points) {
  const seen = new Map();
  for (const p of Array.isArray(points) ? points : []) {
    if (!p || !p.rule_source) continue;
    const key = `${p.rule_confidence}|${p.rule_source}`;
    const entry = seen.get(key) || { source: p.rule_source, confidence: p.rule_confidence, advisory: false };
    entry.advisory = entry.advisory || p.advisory === true;
    seen.set(key, entry);
  }
  return [...seen.values()];
}

const TEST_VERDICTS = { pass: ["合格", "conforms"], fail: ["不合格", "does not conform"], unknown: ["未能判定", "undetermined"] };
const CONFIDENCE = {
  high: ["经规程原文或两处来源确认", "confirmed by the regulation's text or two sources"],
  medium: ["来自一处二手来源", "from one secondary source"],
  low: ["未确认", "unconfirmed"],
};

/** Status proven by the ledger unless the platform now reports a later, final one (e.g. expired today). */
export function resolveStatus(ledgerStatus, currentStatus) {
  if (ledgerStatus === "revoked" || ledgerStatus === "superseded") return ledgerStatus;
  if (FINAL.includes(currentStatus)) return currentStatus;
  return ledgerStatus || currentStatus || "unknown";
}

/**
 * Checks one certificate. proof: the answer of /public/certificates/{number}/proof; keys: the
 * `keys` list of /public/keys; currentStatus: the `status` of /public/certificates/{number} (or null).
 * Returns {verdict, facts, status, ledger, platformKey, checks: {signature, leaf, inclusion, checkpoint}}.
 */
export async function checkCertificate({ number, proof, keys, currentStatus = null }) {
  const payloadText = typeof proof.payload === "string" ? proof.payload : "";
  const payloadBytes = utf8.encode(payloadText);
  let payload = null;
  try {
    payload = JSON.parse(payloadText);
  } catch {
    payload = null;
  }
  const bundle = proof.ledger || null;
  let leaf = null;
  try {
    leaf = bundle ? JSON.parse(bundle.leaf) : null;
  } catch {
    leaf = null;
  }
  // the checks are independent: run them at once, so the browser's crypto work overlaps
  const signatureCheck = payload
    ? checkSignature(proof, payload, payloadBytes, keys)
    : Promise.resolve(fail("签名内容不是有效的 JSON", "the signed bytes are not JSON"));
  const leafCheck = checkLeaf(number, proof, payload, payloadBytes, leaf);

  const pending = Boolean(bundle && leaf && !bundle.checkpoint);
  let ledger = bundle ? { index: bundle.index, checkpoint: null, size: null, time: null, pending } : null;
  let platformKey = null;
  let inclusion;
  let checkpointCheck;
  if (!bundle || !leaf) {
    inclusion = skipped("没有账本记录可供核验", "no ledger entry to check");
    checkpointCheck = skipped("没有账本记录可供核验", "no ledger entry to check");
  } else if (pending) {
    const wait = ["该记录尚未纳入检查点，请稍后再核验", "not yet covered by a checkpoint: check again later"];
    inclusion = skipped(...wait);
    checkpointCheck = skipped(...wait);
  } else {
    let note = null;
    let checkpoint = null;
    try {
      note = splitNote(String(bundle.checkpoint));
      checkpoint = parseCheckpoint(note.body);
    } catch {
      checkpoint = null;
    }
    let signed;
    [inclusion, signed] = await Promise.all([
      checkInclusion(bundle, String(bundle.leaf), checkpoint),
      checkCheckpoint(note, checkpoint, keys),
    ]);
    checkpointCheck = signed.check;
    platformKey = signed.key;
    ledger = { ...ledger, checkpoint: bundle.checkpoint_number, size: checkpoint && checkpoint.size, time: checkpoint && checkpoint.time };
  }

  const [signature, leafResult] = await Promise.all([signatureCheck, leafCheck]);
  const checks = { signature, leaf: leafResult, inclusion, checkpoint: checkpointCheck };

  const ledgerStatus = leaf && leaf.fields ? leaf.fields.status : null;
  const status = resolveStatus(ledgerStatus, currentStatus);
  const results = Object.values(checks).map((c) => c.result);
  let verdict;
  if (results.includes("fail")) verdict = "invalid";
  else if (pending) verdict = "pending";
  else if (results.includes("unavailable") || results.includes("skipped")) verdict = "partial";
  else if (status === "valid") verdict = "valid";
  else if (FINAL.includes(status)) verdict = status;
  else verdict = "partial";
  return {
    verdict,
    facts: payload ? factsOf(payload) : null,
    status,
    ledgerStatus,
    currentStatus,
    revocationReason: leaf && leaf.fields ? leaf.fields.revocation_reason : null,
    ledger,
    platformKey,
    checks,
  };
}

// ------------------------------------------------------------------ the page

const VERDICTS = {
  valid: ["✓ 证书真实有效", "✓ Genuine and valid"],
  revoked: ["证书真实，但已被撤销", "Genuine, but REVOKED"],
  superseded: ["证书真实，但已被更正后的新证书取代", "Genuine, but superseded by an amended certificate"],
  expired: ["证书真实，但已过有效期", "Genuine, but expired"],
  pending: ["签名已核实，账本证明尚待生成", "Signature checked; the ledger proof is pending"],
  partial: ["部分核验", "Partly checked"],
  invalid: ["✗ 核验未通过", "✗ Verification FAILED"],
  "not-found": ["未找到证书", "Certificate not found"],
  error: ["无法完成核验", "The check could not be completed"],
};

const STATUS = {
  valid: ["有效", "Valid"],
  revoked: ["已撤销", "Revoked"],
  superseded: ["已被取代", "Superseded"],
  expired: ["已过期", "Expired"],
  unknown: ["未知", "Unknown"],
};

const CHECK_NAMES = {
  signature: ["签名", "signature"],
  leaf: ["账本记录", "ledger entry"],
  inclusion: ["包含证明", "inclusion proof"],
  checkpoint: ["检查点签名", "checkpoint signature"],
};

const MARKS = { pass: "✓", fail: "✗", unavailable: "?", skipped: "–", checking: "…" };

/** The page's language, from <html lang> (the header's language switch sets it): "zh" or "en". */
export function pageLanguage(doc = document) {
  return (doc.documentElement.lang || "").toLowerCase().startsWith("en") ? "en" : "zh";
}

/** Writes the text in the page's language only. */
function say(el, zh, en) {
  el.textContent = pageLanguage() === "en" ? en : zh;
}

/** The English names of what the signed bytes name in Chinese — catalogue types and items by their
 * Chinese name, institutions by code — as the page lists them (data-names, on English pages). The
 * signed bytes themselves are shown as signed; only the words around them are the page's. */
export function englishNames(root) {
  try {
    return JSON.parse(root.dataset.names || "{}");
  } catch {
    return {};
  }
}

/** The instrument's type (else its catalogue item) and the issuer, named in the page's language. */
export function namedFacts(f, en, names = {}) {
  const types = names.types || {};
  const items = names.items || {};
  const institutions = names.institutions || {};
  const kind = en ? types[f.type] || items[f.item] || f.type || f.item : f.type || f.item;
  const issuer = (en && institutions[f.issuerCode]) || f.issuerName;
  const institution = issuer ? (en ? `${issuer} (${f.issuerCode})` : `${issuer}（${f.issuerCode}）`) : f.issuerCode;
  return { kind, institution };
}

function verdictDetail(report) {
  const failed = Object.entries(report.checks).filter(([, c]) => c.result === "fail");
  switch (report.verdict) {
    case "valid":
      return ["签名、账本记录和检查点均已在您的浏览器中核实。", "Signature, ledger entry and checkpoint were all verified in your browser."];
    case "revoked": {
      const why = report.revocationReason ? `撤销原因：${report.revocationReason}。` : "";
      const whyEn = report.revocationReason ? ` Reason: ${report.revocationReason}.` : "";
      return [`请勿再以此证书为据。${why}`, `Do not rely on this certificate.${whyEn}`];
    }
    case "superseded":
      return ["请向使用单位索取更正后的证书。", "Ask the owner for the amended certificate."];
    case "expired":
      return ["该器具需要重新检定。", "The instrument is due for verification again."];
    case "pending":
      return ["该证书尚未纳入账本检查点（通常几分钟内完成），请稍后再核验。", "The certificate is not yet covered by a ledger checkpoint (usually within minutes): check again later."];
    case "partial":
      return ["有的项目无法在此浏览器中核验，见下方说明。", "Some checks could not be run in this browser: see below."];
    case "invalid":
      return [
        `未通过：${failed.map(([id]) => CHECK_NAMES[id][0]).join("、")}。证书或其证明可能被篡改，请勿以此为据。`,
        `Failed: ${failed.map(([id]) => CHECK_NAMES[id][1]).join(", ")}. The certificate or its proof may have been altered: do not rely on it.`,
      ];
    default:
      return ["", ""];
  }
}

function showVerdict(root, result, detail) {
  const box = root.querySelector("#verdict");
  box.dataset.result = result;
  say(root.querySelector("#verdict-title"), ...VERDICTS[result]);
  say(root.querySelector("#verdict-detail"), ...detail);
  // User Timing: when the verdict is on screen (developer tools and benchmarks/pages.py read it)
  if (result !== "checking") performance.mark("jiliang:verdict");
}

function setFact(root, id, value) {
  root.querySelector(`#fact-${id}`).textContent = value === null || value === undefined || value === "" ? "—" : String(value);
}

/** A signed text written "中文 / English" (a title, a conclusion, a rule), in the page's language only. */
function sayHalf(root, id, value) {
  const [zh, ...en] = String(value || "—").split(" / ");
  say(root.querySelector(`#fact-${id}`), zh, en.join(" / ") || zh);
}

function render(root, report) {
  const f = report.facts || {};
  sayHalf(root, "title", f.title);
  setFact(root, "number", f.number);
  const named = namedFacts(f, pageLanguage() === "en", englishNames(root));
  setFact(root, "instrument", f.instrument);
  setFact(root, "type", named.kind);
  setFact(root, "serial", f.serial);
  setFact(root, "institution", named.institution);
  setFact(root, "date", f.date);
  if (f.validUntil) setFact(root, "valid-until", f.validUntil);
  else if (f.replaceBy) say(root.querySelector("#fact-valid-until"), `须于 ${f.replaceBy} 前更换`, `Replace by ${f.replaceBy}`);
  else if (f.stage === "in_service") say(root.querySelector("#fact-valid-until"), "使用中检查，不更新有效期", "In-service inspection: validity not renewed");
  else say(root.querySelector("#fact-valid-until"), "未规定（无检定周期数据）", "Not stated (no period in the data)");
  sayHalf(root, "conclusion", f.conclusion);
  sayHalf(root, "decision-rule", f.decisionRule);

  const en = pageLanguage() === "en";
  const tests = root.querySelector("#fact-tests");
  tests.replaceChildren(
    ...(f.tests || []).map((t) => {
      const li = document.createElement("li");
      li.dataset.verdict = t.verdict;
      const verdict = (TEST_VERDICTS[t.verdict] || TEST_VERDICTS.unknown)[en ? 1 : 0];
      li.textContent = en ? `${t.name_en}: ${verdict}` : `${t.name_zh}：${verdict}`;
      return li;
    }),
  );
  const rules = root.querySelector("#fact-rules");
  rules.replaceChildren(
    ...(f.rules || []).map((r) => {
      const li = document.createElement("li");
      li.dataset.confidence = r.confidence;
      const standing = (CONFIDENCE[r.confidence] || CONFIDENCE.low)[en ? 1 : 0];
      const flag = r.advisory ? (en ? " (advisory)" : "（参考性）") : "";
      const source = document.createElement("cite"); // a source is cited as written
      source.textContent = r.source;
      li.append(en ? `${standing}${flag}: ` : `${standing}${flag}：`, source);
      return li;
    }),
  );
  root.querySelector("#fact-sources").hidden = !rules.children.length;
  root.querySelector("#fact-results").hidden = !(tests.children.length || rules.children.length || f.advisory);
  const advisory = root.querySelector("#fact-advisory");
  advisory.hidden = !f.advisory;
  say(
    advisory,
    "结论所依据的部分限值尚未对照规程原文确认，结论仅供参考。",
    "Part of the verdict rests on limits not yet confirmed against the printed regulation: it is advisory.",
  );

  const status = root.querySelector("#status");
  status.dataset.status = report.status;
  say(status, ...(STATUS[report.status] || STATUS.unknown));

  const position = root.querySelector("#ledger-position");
  if (report.ledger) {
    const { index, checkpoint } = report.ledger;
    position.dataset.index = String(index);
    position.dataset.checkpoint = checkpoint === null ? "" : String(checkpoint);
    if (checkpoint === null) {
      say(position, `已记入账本：第 ${index} 号叶子，尚待检查点`, `Recorded in the ledger at index ${index}, awaiting a checkpoint`);
    } else {
      say(position, `已记入账本：第 ${index} 号叶子，检查点 ${checkpoint}`, `Recorded in the ledger at index ${index}, checkpoint ${checkpoint}`);
    }
  } else {
    say(position, "账本中没有这张证书的记录", "The ledger holds no entry for this certificate");
  }

  for (const [id, check] of Object.entries(report.checks)) {
    const item = root.querySelector(`#check-${id}`);
    item.dataset.result = check.result;
    item.querySelector(".mark").textContent = MARKS[check.result];
    say(item.querySelector(".detail"), check.zh, check.en);
  }
  if (report.platformKey) {
    say(
      root.querySelector("#platform-key"),
      `平台检查点密钥：${report.platformKey.key.kid}，签名标识 ${report.platformKey.keyId}`,
      `Platform checkpoint key: ${report.platformKey.key.kid}, note key ID ${report.platformKey.keyId}`,
    );
  }
  for (const id of ["#certificate", "#checks-card", "#about"]) root.querySelector(id).hidden = false;
  showVerdict(root, report.verdict, verdictDetail(report));
}

async function fetchJson(url) {
  const response = await fetch(url, { cache: "no-store", credentials: "omit", headers: { Accept: "application/json" } });
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  return { status: response.status, ok: response.ok, body };
}

async function run(root) {
  const ds = root.dataset;
  if (!globalThis.crypto || !crypto.subtle) {
    showVerdict(root, "error", ["此浏览器或连接不提供 WebCrypto（需要 HTTPS）。", "WebCrypto is not available here (it needs HTTPS)."]);
    return;
  }
  const statusAnswer = fetchJson(ds.statusUrl).catch(() => null);
  const [proof, keys, current] = await Promise.all([fetchJson(ds.proofUrl), fetchJson(ds.keysUrl), statusAnswer]);
  if (proof.status === 404) {
    showVerdict(root, "not-found", [
      "证书编号或校验码不正确。请重新扫描证书上的二维码。",
      "Unknown certificate number or token. Scan the QR code on the certificate again.",
    ]);
    return;
  }
  if (!proof.ok || !keys.ok || !proof.body || !keys.body) {
    const detail = (proof.body && proof.body.detail) || (keys.body && keys.body.detail) || `HTTP ${proof.status}/${keys.status}`;
    showVerdict(root, "error", [`服务器未能提供核验数据：${detail}`, `the server did not provide the data to check: ${detail}`]);
    return;
  }
  const currentStatus = current && current.ok && current.body ? current.body.status : null;
  const report = await checkCertificate({ number: ds.number, proof: proof.body, keys: keys.body.keys || [], currentStatus });
  render(root, report);
}

export async function main() {
  const root = document.getElementById("certificate-check");
  if (!root) return;
  try {
    await run(root);
  } catch (err) {
    showVerdict(root, "error", [`核验出错：${err}`, `the check failed to run: ${err}`]);
  }
}

main();
