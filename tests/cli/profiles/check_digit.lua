-- An individual number whose check digit is wrong (8 is right).
return {
  holder = {
    name = "山田　花子",
    address = "東京都新宿区西新宿２丁目８番１号",
    birth = "19800217",
    sex = "2",
    number = "123456789019",
  },
}
