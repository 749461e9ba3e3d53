-- jpki.lua — the JPKI AP and the 券面事項入力補助AP as clients drive them
-- (docs/card.md#commands, #text-ap).  Each helper returns the response table
-- as its last value, so a scenario can check the status word itself.
local jpki = {}
local hex, unhex = mynahil.hex, mynahil.unhex

jpki.AID = "D392F000260100000001"
jpki.TEXT_AID = "D3921000310001010408"

jpki.EF = {
  sign_cert = "0001", sign_ca = "0002", token = "0006", presence = "0008",
  auth_cert = "000A", auth_ca = "000B", auth_key = "0017", auth_pin = "0018",
  sign_key = "001A", sign_pin = "001B",
}
local PIN_EF = { auth = "0018", sign = "001B", text = "0011", number = "0014", check_b = "0015" }
local KEY_EF = { auth = "0017", sign = "001A" }

-- A command APDU in hex: short form, data as a binary string.
function jpki.apdu(cla, ins, p1, p2, data, le)
  local s = string.format("%02X%02X%02X%02X", cla, ins, p1, p2)
  if data and #data > 0 then s = s .. string.format("%02X", #data) .. hex(data) end
  if le then s = s .. string.format("%02X", le & 0xFF) end
  return s
end

function jpki.select_ap(card, aid)
  return card:transmit("00A4040C" .. string.format("%02X", #aid // 2) .. aid)
end

function jpki.select(card) return jpki.select_ap(card, jpki.AID) end
function jpki.select_text(card) return jpki.select_ap(card, jpki.TEXT_AID) end

function jpki.select_ef(card, fid)
  return card:transmit("00A4020C02" .. fid)
end

function jpki.read_binary(card, offset, le)
  return card:transmit(jpki.apdu(0x00, 0xB0, (offset >> 8) & 0x7F, offset & 0xFF, nil, le or 0))
end

-- The whole of the current EF: Le=00 until a short answer or 6B00.
function jpki.read_all(card)
  local parts, off = {}, 0
  while true do
    local r, err = jpki.read_binary(card, off, 0)
    if not r then return nil, err end
    if r.sw == 0x6B00 and off > 0 then break end
    if r.sw ~= 0x9000 then return nil, r end
    parts[#parts + 1] = r.data
    off = off + #r.data
    if #r.data < 256 then break end
  end
  return table.concat(parts)
end

-- One BER object at the start of the current EF, as OpenSC and myna read
-- certificates: the header first, then exactly the object.
function jpki.read_object(card)
  local r = jpki.read_binary(card, 0, 7)
  if not r or r.sw ~= 0x9000 then return nil, r end
  local h = r.data
  local b1 = h:byte(2)
  local len, hl
  if b1 < 0x80 then len, hl = b1, 2
  else
    local nb = b1 & 0x7F
    len, hl = 0, 2 + nb
    for i = 1, nb do len = (len << 8) | h:byte(2 + i) end
  end
  local total, parts, off = hl + len, {}, 0
  while off < total do
    local want = math.min(256, total - off)
    local rr = jpki.read_binary(card, off, want == 256 and 0 or want)
    if not rr or rr.sw ~= 0x9000 then return nil, rr end
    parts[#parts + 1] = rr.data
    off = off + #rr.data
    if #rr.data == 0 then break end
  end
  return table.concat(parts):sub(1, total), r
end

function jpki.read_ef(card, fid)
  local r = jpki.select_ef(card, fid)
  if not r or r.sw ~= 0x9000 then return nil, r end
  return jpki.read_object(card)
end

-- EF 0006: the token name, trailing spaces and NULs trimmed.
function jpki.token(card)
  local r = jpki.select_ef(card, jpki.EF.token)
  if not r or r.sw ~= 0x9000 then return nil, r end
  local rr = jpki.read_binary(card, 0, 0x20)
  if not rr or rr.sw ~= 0x9000 then return nil, rr end
  return (rr.data:gsub("[ %z]+$", "")), rr
end

-- Client-side PIN rules (docs/card.md#pins): what an app refuses before it
-- spends one of the card's tries.
local FORMAT = {
  auth = function(p) return #p == 4 and p:match("^%d+$") ~= nil end,
  text = function(p) return #p == 4 and p:match("^%d+$") ~= nil end,
  sign = function(p) return #p >= 6 and #p <= 16 and p:match("^[A-Z0-9]+$") ~= nil end,
  number = function(p) return #p == 12 and p:match("^%d+$") ~= nil end,
  check_b = function(p) return #p == 14 and p:match("^%d+$") ~= nil end,
}

function jpki.valid_pin(which, pin)
  local f = FORMAT[which]
  if not f then error("unknown PIN '" .. tostring(which) .. "'", 2) end
  return type(pin) == "string" and f(pin)
end

-- VERIFY after selecting the PIN EF.  A badly formed PIN is refused here:
-- returns nil, "format" and sends nothing.
function jpki.verify(card, which, pin)
  if not jpki.valid_pin(which, pin) then return nil, "format" end
  return jpki.verify_raw(card, which, pin)
end

function jpki.verify_raw(card, which, pin)
  local r = jpki.select_ef(card, PIN_EF[which])
  if not r or r.sw ~= 0x9000 then return r end
  return card:transmit(jpki.apdu(0x00, 0x20, 0x00, 0x80, pin))
end

-- Tries left, from the 63Cx answer to a VERIFY without data; 0 when
-- blocked (6984).  Returns nil and the response otherwise.
function jpki.retries(card, which)
  local r = jpki.select_ef(card, PIN_EF[which])
  if not r or r.sw ~= 0x9000 then return nil, r end
  r = card:transmit("00200080")
  if not r then return nil, r end
  if r.sw & 0xFFF0 == 0x63C0 then return r.sw & 0x0F, r end
  if r.sw == 0x6984 then return 0, r end
  return nil, r
end

-- CHANGE REFERENCE DATA after a VERIFY of the same PIN in this session.
function jpki.change_pin(card, which, old, new)
  local r = jpki.verify(card, which, old)
  if not r or r.sw ~= 0x9000 then return r end
  if not jpki.valid_pin(which, new) then return nil, "format" end
  return card:transmit(jpki.apdu(0x00, 0x24, 0x01, 0x80, new))
end

-- COMPUTE DIGITAL SIGNATURE over a DigestInfo, after the key's PIN.
function jpki.sign_digestinfo(card, which, digestinfo)
  local r = jpki.select_ef(card, KEY_EF[which])
  if not r or r.sw ~= 0x9000 then return nil, r end
  r = card:transmit(jpki.apdu(0x80, 0x2A, 0x00, 0x80, digestinfo, 0))
  if not r or r.sw ~= 0x9000 then return nil, r end
  return r.data, r
end

-- Hash data with SHA-256 on the host and have the card sign it.
function jpki.sign(card, which, data)
  local di = mynahil.crypto.digestinfo("sha256", mynahil.crypto.sha256(data))
  return jpki.sign_digestinfo(card, which, di)
end

-- 券面事項入力補助AP EF 0002 -> { name, address, birth, sex }.
function jpki.parse_attrs(data)
  local outer = mynahil.tlv(data)
  if #outer == 0 or outer[1].tag ~= 0xFF20 then return nil, "EF 0002 is not an FF20 template" end
  local names = { [0xDF22] = "name", [0xDF23] = "address", [0xDF24] = "birth", [0xDF25] = "sex" }
  local out, offsets = {}, {}
  for _, e in ipairs(mynahil.tlv(outer[1].value)) do
    if e.tag == 0xDF21 then offsets = e.value
    elseif names[e.tag] then out[names[e.tag]] = e.value end
  end
  out.offsets = offsets
  return out
end

-- 券面事項入力補助AP EF 0001 -> the 12-digit individual number.
function jpki.parse_number(data)
  local e = mynahil.tlv(data)[1]
  if not e or e.tag ~= 0xFF10 then return nil, "EF 0001 is not an FF10 object" end
  return e.value
end

return jpki
