-- Delegated management under se_model = ssd (issue 16 point 3,
-- docs/tsm.md#two-tsms): after an issuance the applet lives in the SP's own
-- SSD.  Standing where the SP-TSM stands — its SSD keys, the SP's master
-- 50..5F diversified by the SE's KDD, and the SE issuer's TSM (/v1/issuer)
-- for tokens — the scenario sends DELETE of the applet through the SSD
-- with a token bit-flipped and with a foreign one (the issuer's token for
-- another command): the SE refuses both (6A80) and nothing changes (the
-- applet and its certificates stay, the invariants hold).  The issuer
-- signs no token for the ISD, and the SP's keys open its SSD but not the
-- ISD: the SP-TSM cannot reach the issuer's domain.
local app = require "app"
local rp = require "rp"

local SP_MASTER = "505152535455565758595A5B5C5D5E5F"  -- hil/svc/tsm_world.c's SP master
local SSD = "D392F000265344"
local APPLET = "D392F000260100000001"
local HC = "0102030405060708"

-- SELECT an SD, INITIALIZE UPDATE: (command, answer data ‖ SW, KDD).
local function iu(se, aid)
  expect(se:transmit(string.format("00A40400%02X%s00", #aid // 2, aid)), "SELECT " .. aid).sw(0x9000)
  local cmd = mynahil.gp.iu(0x30, HC)
  local r = se:transmit(cmd)
  expect(r, "INITIALIZE UPDATE on " .. aid).sw(0x9000)
  return cmd, r.hex .. "9000", r.hex:sub(1, 20)
end

local function token_for(w, device, data)
  local s, a = w.tsm:call("POST", "/v1/issuer/tokens",
    { sp = "jpki-sp", device = device, ins = "E4", p1 = 0, p2 = 0, data = data })
  return s, a
end

return scenario {
  id = "TSM-26", title = "ssd: a tampered or foreign token refused (6A80), nothing changed; the SP cannot reach the ISD",
  tags = { "tsm", "ssd", "issue" }, needs = { "se", "tsm", "sim" },
  operation = "issue", policy = { se_model = "ssd" },
  run = function(w)
    local bank = rp.new(w)
    local se = app.new_se(w, 1)
    local phone = app.phone(w, se)
    local card = app.card(w.card, w.profile.pins)
    local r = app.issue(w, phone, card, { pins = { auth = "1357", sign = "PHONE2026" } })
    expect(r.ok, "issuance through both TSMs: " .. tostring(r.error)).is_true()
    if not r.ok then return end
    local device = r.result.device
    expect(se:inspect().sd, "the applet is associated with the SP's SSD").is(SSD)

    -- The SP's SSD keys open its SSD (EXTERNAL AUTHENTICATE at level 00:
    -- the commands below go unwrapped, their tokens are the point)
    local cmd, rsp, kdd = iu(se, SSD)
    expect(kdd, "the SE's KDD is the device id").is(device)
    local keys = mynahil.gp.diversify(SP_MASTER, kdd)
    keys.kvn = 0x30
    local ea = mynahil.gp.open(keys, cmd, rsp, 0x00)
    expect(ea ~= nil, "the SP's keys verify the SSD's card cryptogram").is_true()
    expect(se:transmit(ea), "the SP's keys open its SSD").sw(0x9000)

    local del = "4F0A" .. APPLET
    local s, a = token_for(w, device, del)
    expect(s, "the issuer signs DELETE of the SP's applet").is(200)
    local tok = a.token
    -- one bit of the token flipped
    local bad = tok:sub(1, 10) .. string.format("%X", tonumber(tok:sub(11, 11), 16) ~ 1) .. tok:sub(12)
    expect(se:transmit("80E400008F" .. del .. "9E8180" .. bad .. "00"), "DELETE with a tampered token").sw(0x6A80)
    -- a foreign token: the issuer's, for DELETE of the load file
    local s2, a2 = token_for(w, device, "4F07D392F000260100")
    expect(s2, "the issuer signs DELETE of the SP's load file").is(200)
    expect(se:transmit("80E400008F" .. del .. "9E8180" .. a2.token .. "00"), "DELETE with another command's token")
      .sw(0x6A80)
    -- nothing changed: the applet, its certificates, the registry
    expect(app.applet_present(phone), "the applet is still there").is_true()
    expect(se:inspect().slots.auth.state, "its auth slot still active").is "active"
    expect(bank:says(r.result.auth_serial), "CA: the phone's auth certificate still valid").is "valid"

    -- The ISD: no token for it, and the SP's keys do not open it
    local s3, a3 = token_for(w, device, "4F08A000000151000000")
    expect(s3, "the issuer refuses a token for the ISD").is(403)
    expect(a3.field, "naming the command's data").is "data"
    local cmd2, rsp2 = iu(se, "A000000151000000")
    local none, why = mynahil.gp.open(keys, cmd2, rsp2, 0x00)
    expect(none, "the SP's keys do not verify the ISD's card cryptogram").is(nil)
    expect(why or "", "the host says why").contains("card cryptogram")
    local forced = mynahil.gp.open(keys, cmd2, rsp2, 0x00, true)
    expect(se:transmit(forced), "the ISD refuses the SP's keys").sw(0x6300)
    expect((app.check(w)), "registry and CA agree").is_true()
  end,
}
