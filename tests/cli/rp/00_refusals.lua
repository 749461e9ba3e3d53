-- What the relying party's checks refuse (tests/cli/relying_party.sh): an
-- OCSP response with another nonce, signed by another key, answering for
-- another certificate, from the future, not successful; a tampered CRL, an
-- expired one, another CA's; garbage of every kind answered nil, why and
-- never raised.  The certificates: a phone's, issued through the TSM, and
-- the holder's card auth certificate (the same CA).
local app = require "app"
local rp = require "rp"
local crypto = mynahil.crypto

-- f(...) returns nil and a reason containing text, and raises nothing.
local function refused(what, text, f, ...)
  local ok, v, why = pcall(f, ...)
  expect(ok, what .. ": no error raised (" .. tostring(v) .. ")").is_true()
  expect(v, what .. ": refused").is(nil)
  if text then expect(tostring(why), what .. ": says why").contains(text) end
end

-- s with byte i xored with x.
local function flip(s, i, x)
  return s:sub(1, i - 1) .. string.char(s:byte(i) ~ (x or 1)) .. s:sub(i + 1)
end

return scenario {
  id = "RP-REFUSALS", title = "ocsp_check and crl_check refuse what a relying party must refuse",
  tags = { "rp" }, needs = { "se", "tsm" },
  run = function(w)
    local bank = rp.new(w)
    local A = bank.anchors
    local now = assert(bank:now())
    local phone = app.phone(w)
    local card = app.card(w.card, w.profile.pins)
    local r = app.issue(w, phone, card, { pins = { auth = "1470", sign = "REFUSE001" } })
    expect(r.ok, "issued: " .. tostring(r.error)).is_true()
    if not r.ok then return end
    local pauth = assert(bank:der(r.result.auth_serial))
    local psign = assert(bank:der(r.result.sign_serial))
    local _, list = w.ca:call("GET", "/v1/holders/alice/certs")
    local cauth
    for _, c in ipairs(list.certs or {}) do
      if c.kind == "card" and c.purpose == "auth" then cauth = assert(bank:der(c.serial)) end
    end
    expect(cauth ~= nil, "the card auth certificate").is_true()
    if not cauth then return end

    -- The good case first: the checks pass on an honest answer.
    local nonce = bank:nonce()
    print("nonce " .. mynahil.hex(nonce))   -- the same seed, the same bytes (relying_party.sh)
    local req = assert(crypto.ocsp_request(pauth, A.auth, nonce))
    local st, rsp = w.ca:raw("POST", "/ocsp", "application/ocsp-request", req)
    expect(st, "OCSP over the service").is(200)
    local ok = crypto.ocsp_check(rsp, pauth, A.auth, nonce, now)
    expect(ok and ok.status, "an honest answer").is "good"
    expect(crypto.ocsp_request(pauth, A.auth), "a request without a nonce").isnt(nil)

    -- OCSP refusals.
    refused("another nonce", "nonce", crypto.ocsp_check, rsp, pauth, A.auth, bank:nonce(), now)
    refused("signed by another key (the sign CA's expected)", "not signed by the issuer",
      crypto.ocsp_check, rsp, pauth, A.sign, nonce, now)
    refused("a certID for another certificate", "certID", crypto.ocsp_check, rsp, cauth, A.auth, nonce, now)
    refused("thisUpdate after now", "future", crypto.ocsp_check, rsp, pauth, A.auth, nonce, now - 60)
    refused("a flipped signature byte", "not signed", crypto.ocsp_check, flip(rsp, #rsp - #A.auth - 100), pauth, A.auth, nonce, now)
    local _, bad = w.ca:raw("POST", "/ocsp", "application/ocsp-request", "not DER")
    refused("malformedRequest", "malformedrequest", crypto.ocsp_check, bad, pauth, A.auth, nil, now)
    local _, other = w.ca:raw("POST", "/ocsp", "application/ocsp-request",
      assert(crypto.ocsp_request(cauth, A.auth, nonce)))
    refused("an honest answer about another certificate", "certID", crypto.ocsp_check, other, pauth, A.auth, nonce, now)

    -- CRL refusals.
    local _, crl = w.ca:raw("GET", "/crl/auth.crl")
    local c = crypto.crl_check(crl, A.auth, now)
    expect(c and c.number, "an honest CRL has a number").gt(0)
    refused("a tampered CRL (last byte)", "not signed", crypto.crl_check, flip(crl, #crl), A.auth, now)
    refused("a tampered CRL (thisUpdate)", nil, crypto.crl_check, flip(crl, 60), A.auth, now)
    refused("an expired CRL (now past nextUpdate)", "expired", crypto.crl_check, crl, A.auth, now + 2 * 86400)
    refused("another CA's CRL", "issuer", crypto.crl_check, crl, A.sign, now)

    -- Chains.
    expect(crypto.verify_chain(psign, A.sign, A.root, now), "phone sign chains to the root").is_true()
    refused("the wrong CA", nil, crypto.verify_chain, psign, A.auth, A.root, now)
    refused("after notAfter", "expired", crypto.verify_chain, psign, A.sign, A.root, now + 20 * 365 * 86400)

    -- Garbage: nil, why; never an error.
    for i, args in ipairs {
      { crypto.ocsp_request, nil, A.auth }, { crypto.ocsp_request, "x", A.auth }, { crypto.ocsp_request, pauth, {} },
      { crypto.ocsp_request, pauth, A.auth, "" }, { crypto.ocsp_request, pauth, A.auth, ("n"):rep(65) },
      { crypto.ocsp_request, pauth, A.auth, 12 },
      { crypto.ocsp_check }, { crypto.ocsp_check, "", pauth, A.auth, nonce, now },
      { crypto.ocsp_check, rsp, pauth, A.auth, nonce, "now" }, { crypto.ocsp_check, rsp, pauth, A.auth, nonce, -1 },
      { crypto.ocsp_check, rsp, pauth, A.auth, {}, now }, { crypto.ocsp_check, rsp, 1, A.auth, nonce, now },
      { crypto.ocsp_check, ("\48"):rep(1 << 21), pauth, A.auth, nonce, now },
      { crypto.crl_check }, { crypto.crl_check, crl, nil, now }, { crypto.crl_check, crl, A.auth },
      { crypto.crl_check, rsp, A.auth, now }, { crypto.crl_check, crl, A.auth, 1.5 },
      { crypto.verify_chain, pauth }, { crypto.verify_chain, pauth, A.auth, "root", now },
    } do
      refused("garbage " .. i, nil, table.unpack(args))
    end
    -- Every truncation and a byte flipped at every place: refused or
    -- answered, never raised, never a crash.
    local raised = 0
    for n = 0, #rsp - 1 do
      if not pcall(crypto.ocsp_check, rsp:sub(1, n), pauth, A.auth, nonce, now) then raised = raised + 1 end
      if crypto.ocsp_check(rsp:sub(1, n), pauth, A.auth, nonce, now) then raised = raised + 1 end
    end
    for i = 1, #rsp, 3 do
      if not pcall(crypto.ocsp_check, flip(rsp, i, 0x80), pauth, A.auth, nonce, now) then raised = raised + 1 end
    end
    for n = 0, #crl - 1 do
      if not pcall(crypto.crl_check, crl:sub(1, n), A.auth, now) then raised = raised + 1 end
      if crypto.crl_check(crl:sub(1, n), A.auth, now) then raised = raised + 1 end
    end
    expect(raised, "truncated or flipped: no error raised, no truncation accepted").is(0)
  end,
}
