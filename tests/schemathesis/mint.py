"""Mints a Caucus management token (HS256, 100ms claims) with the standard library."""
import base64, hashlib, hmac, json, sys, time, uuid

def b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

key, secret = sys.argv[1], sys.argv[2]
now = int(time.time())
header = {"alg": "HS256", "typ": "JWT"}
claims = {"access_key": key, "type": "management", "version": 2,
          "iat": now - 10, "nbf": now - 10, "exp": now + 3600, "jti": str(uuid.uuid4())}
signing = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
sig = hmac.new(secret.encode(), signing.encode(), hashlib.sha256).digest()
print(signing + "." + b64(sig))
