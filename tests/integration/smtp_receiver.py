#!/usr/bin/python3
"""An SMTP server for the notification tests, on Debian's python3-aiosmtpd.

Accepts every message and appends one JSON line per message to the log, with
the headers decoded the way a mail client would: {"from", "to", "subject",
"message_id", "key", "content_type", "body", "raw"}. Recipients starting
with "reject" are refused with 550, those starting with "tempfail" with
451, to show how the channel tells the two apart.

Prints "listening PORT" once it accepts connections.
"""
import argparse
import email
import email.policy
import json
import threading

from aiosmtpd.controller import Controller

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--log", required=True)
args = parser.parse_args()

lock = threading.Lock()


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("reject"):
            return "550 5.1.1 No such user here"
        if address.startswith("tempfail"):
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        record = {
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "subject": str(msg["subject"]),
            "message_id": str(msg["message-id"]),
            "key": str(msg["x-liftguard-idempotency-key"]),
            "content_type": str(msg["content-type"]),
            "body": msg.get_content(),
            "raw": envelope.content.decode("utf-8", "replace"),
        }
        with lock:
            with open(args.log, "a", encoding="utf-8") as f:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
                f.flush()
        return "250 Message accepted for delivery"


controller = Controller(Handler(), hostname="127.0.0.1", port=args.port)
controller.start()
print("listening", args.port, flush=True)
threading.Event().wait()
