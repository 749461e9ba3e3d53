return scenario {
  id = "ESCAPE", title = "tries to leave the sandbox", tags = { "sandbox" },
  run = function(w)
    expect(os.execute, "os.execute").is(nil)
    expect(io.popen, "io.popen").is(nil)
    expect(debug, "debug").is(nil)
    expect(pcall(io.open, "/etc/passwd"), "open an absolute path").is_false()
    expect(pcall(io.open, "../../x"), "open above the run dir").is_false()
    local f = io.open("note.txt", "w")
    expect(f ~= nil, "open inside the run dir").is_true()
    f:write("ok") f:close()
    expect(pcall(require, "os"), "require a library module is harmless").is_true()
    expect(load("\27Lua"), "binary chunk").is(nil)
    io.open("/etc/shadow")
  end,
}
