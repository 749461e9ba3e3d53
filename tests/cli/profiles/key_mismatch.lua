-- A profile whose auth key is the sign key: it does not match auth.cert.
return {
  atr_set = "opensc-3021",     -- ATR set: pcsc-tools-e0 | opensc-3021 | pcsc-tools-c5
  holder = {
    name = "山田　花子",       -- family U+3000 given, UTF-8
    address = "東京都新宿区西新宿２丁目８番１号",
    birth = "19800217",        -- YYYYMMDD, Gregorian
    sex = "2",                 -- 1 male, 2 female, 9 n/a
    number = "123456789018",   -- 12-digit individual number (valid check digit)
    expiry_year = 2035,        -- card expiry year (for 照合番号B)
    security_code = "2285",    -- 4 digits printed on the card
  },
  pins = { auth = "1234", sign = "MYNAHIL1", text = "1234" },
  auth = { cert = "../../../fixtures/pki/alice-auth.der", key = "../../../fixtures/keys/pool-04.pem", ca = "../../../fixtures/pki/auth-ca.der" },
  sign = { cert = "../../../fixtures/pki/alice-sign.der", key = "../../../fixtures/keys/pool-04.pem", ca = "../../../fixtures/pki/sign-ca.der" },
  text_key = "../../../fixtures/keys/pool-05.pem",
}
