"""A small authoritative DNS server on loopback, built from dnspython's pieces: it serves the
zones it is given over UDP, so that lookups are tested against a real server, never the internet."""

import socket
import threading

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.zone


class DnsServer:
    def __init__(self, *zones: str):
        """`zones`: zone files' text, each beginning with its $ORIGIN."""
        self.zones = [dns.zone.from_text(text, relativize=False) for text in zones]
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.queries: list[str] = []
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def address(self) -> str:
        host, port = self.sock.getsockname()
        return f"{host}:{port}"

    def start(self) -> "DnsServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.running = False
        if self.thread.is_alive():
            self.thread.join(2)
        self.sock.close()

    def _serve(self) -> None:
        while self.running:
            try:
                wire, client = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            query = dns.message.from_wire(wire)
            self.sock.sendto(self._answer(query).to_wire(), client)

    def _answer(self, query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        question = query.question[0]
        self.queries.append(f"{question.name} {dns.rdatatype.to_text(question.rdtype)}")
        zone = next((z for z in self.zones if question.name.is_subdomain(z.origin)), None)
        if zone is None:
            response.set_rcode(dns.rcode.REFUSED)
            return response
        response.flags |= dns.flags.AA
        node = zone.get_node(question.name)
        if node is None:
            response.set_rcode(dns.rcode.NXDOMAIN)
            return response
        found = node.get_rdataset(question.rdclass, question.rdtype)
        if found is not None:
            response.answer.append(dns.rrset.from_rdata_list(question.name, found.ttl, list(found)))
        return response


def published(domain: str, selector: str = "engage") -> str:
    """The zone of a domain that publishes what Gmail, Yahoo and Outlook.com ask of a bulk sender:
    SPF, a DKIM key for `selector`, and DMARC."""
    return f"""$ORIGIN {domain}.
$TTL 300
@ IN SOA ns.{domain}. hostmaster.{domain}. 1 3600 600 86400 300
@ IN NS ns.{domain}.
@ IN TXT "v=spf1 ip4:192.0.2.10 -all"
{selector}._domainkey IN TXT "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtestkey"
_dmarc IN TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@{domain}"
"""
