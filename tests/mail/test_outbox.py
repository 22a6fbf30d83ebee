from email import message_from_bytes, policy

from django.core.mail import EmailMultiAlternatives, mailers


def test_each_message_becomes_one_eml_file_a_mail_client_can_open(settings, tmp_path):
    settings.MAILERS = {
        "default": {
            "BACKEND": "newsletter.mail.outbox.OutboxBackend",
            "OPTIONS": {"file_path": str(tmp_path)},
        }
    }
    messages = []
    for n in range(2):
        message = EmailMultiAlternatives(
            f"Hello {n}", "Plain text", "a@example.org", ["b@example.org"]
        )
        message.attach_alternative("<p>HTML</p>", "text/html")
        messages.append(message)

    assert mailers.default.send_messages(messages) == 2

    files = sorted(tmp_path.glob("*.eml"))
    assert len(files) == 2
    assert not list(tmp_path.glob(".*.tmp"))
    parsed = [message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]
    assert sorted(p["Subject"] for p in parsed) == ["Hello 0", "Hello 1"]
    assert parsed[0].get_content_type() == "multipart/alternative"
    assert parsed[0].get_body(("plain",)).get_content().strip() == "Plain text"
