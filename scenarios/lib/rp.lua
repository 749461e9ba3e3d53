-- rp.lua — a relying party (a service provider, e.g. a bank) that is handed
-- a phone's signature and certificate and checks them as it would: the
-- signature under the certificate's key, the chain to the test root, the
-- validity on the virtual clock, and the status by OCSP and by the CRL —
-- through the CA's public endpoints (POST /ocsp, GET /crl/*.crl), not the
-- CA's JSON API.  It reaches the CA through w.ca (in process or over HTTP:
-- svc:raw), so the same checks run against both.
--
--   local rp = require "rp"
--   local bank = rp.new(w)
--   local v = bank:verify(cert_der, "msg", sig)  -- v.ok, v.signature, v.chain,
--                                               -- v.validity, v.ocsp, v.crl, v.reason
--   local s, err = bank:status(serial_or_der)   -- s.status ("valid"|"hold"|"revoked"|
--        -- "expired"), s.reason, s.ocsp / s.crl / s.api (each source's view),
--        -- s.crl_number; err when a source fails or the three disagree
--   expect(bank:says(serial), "CA: revoked").is "revoked"   -- or the disagreement
local crypto = mynahil.crypto

local rp = {}
rp.__index = rp

-- w: the scenario's world (w.ca); anchors: { root, auth, sign } DER, by
-- default the fixtures' (rp_anchors.lua).
function rp.new(w, anchors)
  return setmetatable({ w = w, ca = w.ca, anchors = anchors or require "rp_anchors" }, rp)
end

-- The virtual clock, as the CA keeps it: epoch seconds, "YYYYMMDDhhmmssZ".
function rp:now()
  local s, c = self.ca:call("GET", "/v1/clock")
  if s ~= 200 or not c.epoch then return nil, "clock: " .. tostring(s) end
  return c.epoch, c.now
end

-- The nonce of the next OCSP request: from the scenario's id, seed and a
-- counter shared by every relying party of the scenario (the same seed
-- gives the same bytes; no two requests the same nonce).
local count = 0
function rp:nonce()
  count = count + 1
  return crypto.sha256("rp-nonce/" .. tostring(self.w.id) .. "/" .. tostring(self.w.seed) .. "/" .. count):sub(1, 16)
end

-- Which CA issued der: "auth" or "sign" and its certificate, or nil.
function rp:issuer(der)
  local ok, c = pcall(crypto.cert, der)
  if not ok then return nil, "not a DER certificate" end
  for _, which in ipairs { "auth", "sign" } do
    if crypto.cert(self.anchors[which]).subject == c.issuer then return which, self.anchors[which], c end
  end
  return nil, "issued by neither CA: " .. c.issuer
end

local function norm(serial) return (serial:upper():gsub("^0+", "")) end

-- A certificate's DER from its serial (GET /v1/certs/{serial}/der).
function rp:der(serial)
  local s, der = self.ca:raw("GET", "/v1/certs/" .. serial .. "/der")
  if s ~= 200 then return nil, "certificate " .. serial .. ": " .. tostring(s) end
  return der
end

-- OCSP: { status = "good"|"revoked"|"unknown", reason, ... } or nil, why.
function rp:ocsp(der, now)
  local _, issuer = self:issuer(der)
  if not issuer then return nil, "no issuer" end
  local nonce = self:nonce()
  local req, why = crypto.ocsp_request(der, issuer, nonce)
  if not req then return nil, why end
  local s, rsp = self.ca:raw("POST", "/ocsp", "application/ocsp-request", req)
  if s ~= 200 then return nil, "OCSP: HTTP " .. tostring(s) end
  return crypto.ocsp_check(rsp, der, issuer, nonce, now or self:now())
end

-- The CRL of "auth" or "sign", checked: { number, revoked = {...} } or nil, why.
function rp:crl(which, now)
  local s, der = self.ca:raw("GET", "/crl/" .. which .. ".crl")
  if s ~= 200 then return nil, "CRL: HTTP " .. tostring(s) end
  return crypto.crl_check(der, self.anchors[which], now or self:now())
end

-- What the CRL says of a serial: "valid", "hold" or "revoked", reason.
local function crl_status(crl, serial)
  for sn, reason in pairs(crl.revoked) do
    if norm(sn) == norm(serial) then
      if reason == "certificateHold" then return "hold" end
      return "revoked", reason
    end
  end
  return "valid"
end

local function ocsp_status(o)
  if o.status == "good" then return "valid" end
  if o.status == "revoked" and o.reason == "certificateHold" then return "hold" end
  return o.status, o.reason
end

-- The status of a certificate (serial or DER) by OCSP, by the CRL and by
-- the JSON API: s, nil when the three agree; s, why otherwise (s.status nil).
-- Expired is the relying party's own reading: the virtual now past the
-- certificate's notAfter (s.expired) and OCSP not revoked; the CRL then
-- may have dropped it (RFC 5280 §3.3) or still list it until its next
-- issue, so only a listing that contradicts OCSP counts.
function rp:status(cert)
  local der, why = cert, nil
  if type(cert) == "string" and cert:match("^%x+$") then der, why = self:der(cert) end
  if not der then return { error = why }, why end
  local which, _, c = self:issuer(der)
  if not which then return { error = "no issuer" }, "no issuer" end
  local serial = c.serial
  local now, now_s = self:now()
  local s = { serial = serial, expired = now_s ~= nil and now_s > c.not_after }
  local o, oerr = self:ocsp(der, now)
  if o then s.ocsp, s.ocsp_reason = ocsp_status(o) end
  local crl, cerr = self:crl(which, now)
  if crl then
    s.crl, s.crl_reason = crl_status(crl, serial)
    s.crl_number = crl.number
  end
  local st, api = self.ca:call("GET", "/v1/certs/" .. serial)
  if st == 200 then s.api, s.api_reason = api.status, api.status == "revoked" and api.reason or nil end
  local err = (not o and "OCSP: " .. tostring(oerr)) or (not crl and "CRL: " .. tostring(cerr))
    or (st ~= 200 and "JSON API: " .. tostring(st)) or nil
  if not err then
    local want, crl_ok = s.ocsp, s.crl == s.ocsp
    if s.expired then
      want = s.ocsp == "valid" and "expired" or s.ocsp
      crl_ok = s.crl == "valid" or s.crl == s.ocsp or (want == "expired" and s.crl == "hold")
    end
    if want ~= s.api or not crl_ok
      or (s.api == "revoked" and (s.ocsp_reason ~= s.api_reason or (s.crl == "revoked" and s.crl_reason ~= s.api_reason))) then
      err = string.format("disagree: OCSP %s%s, CRL %s%s, JSON API %s%s", tostring(s.ocsp),
        s.ocsp_reason and "/" .. s.ocsp_reason or "", tostring(s.crl), s.crl_reason and "/" .. s.crl_reason or "",
        tostring(s.api), s.api_reason and "/" .. s.api_reason or "")
    end
  end
  if err then
    s.error = err
    return s, err
  end
  s.status, s.reason = s.api, s.api_reason
  return s
end

-- For expect(): the agreed status, or why not (the disagreement) in its
-- place, so that a failed expectation shows it; then the whole answer.
function rp:says(cert)
  local s, err = self:status(cert)
  return s.status or err, s
end

-- A relying party's verdict on sig over msg (RSASSA-PKCS1-v1_5, SHA-256)
-- by the phone certificate der: { ok, signature, chain, validity, ocsp,
-- crl, reason } — ocsp and crl "good" or the status they give; reason the
-- first thing that failed.
function rp:verify(der, msg, sig)
  local v = { ok = false }
  local now, now_s = self:now()
  if not now then v.reason = "no clock"; return v end
  local which, issuer, c = self:issuer(der)
  if not which then v.reason = issuer; return v end
  v.signature = crypto.verify(der, "sha256", msg, sig)
  v.validity = c.not_before <= now_s and now_s <= c.not_after
  local chained, why = crypto.verify_chain(der, issuer, self.anchors.root, now)
  v.chain = chained == true or (not v.validity and (why or ""):match("valid") ~= nil)
  local o, oerr = self:ocsp(der, now)
  v.ocsp = o and (o.status == "revoked" and "revoked:" .. o.reason or o.status) or nil
  local crl, cerr = self:crl(which, now)
  if crl then
    local st, r = crl_status(crl, c.serial)
    v.crl = st == "valid" and "good" or ("revoked:" .. (r or "certificateHold"))
    v.crl_number = crl.number
  end
  v.reason = (not v.signature and "signature does not verify")
    or (not v.chain and "chain: " .. tostring(why))
    or (not v.validity and "outside validity at " .. now_s)
    or (not o and "OCSP: " .. tostring(oerr))
    or (v.ocsp ~= "good" and "OCSP: " .. v.ocsp)
    or (not crl and "CRL: " .. tostring(cerr))
    or (v.crl ~= "good" and "CRL: " .. v.crl) or nil
  v.ok = v.reason == nil
  return v
end

return rp
