-- A misspelt optional field (text_kye for text_key) is an error, not a default.
return { text_kye = "../../../fixtures/keys/pool-05.pem" }
