-- A reader "port" that is a regular file, not a device.
return scenario {
  id = "H-NFC-FILE", title = "nfc: port naming a file",
  run = function(w)
    assert(w:open("nfc:pn532_uart:/etc/passwd"))
  end,
}
