"""TLS of the static bootstrap's libcurl (mbedTLS, docs/packaging.md "TLS"), through the static client
bench/tls_client.c, which the packaging superbuild links exactly like the bootstrap: a CA made at test
time, a local HTTPS server (Python ssl), and certificates that must be accepted or refused.

Then lr_aws in the static build (LR_AWS_CRYPTO=mbedtls, libcurl over mbedTLS) end to end: the static
aws_call (tools/aws_call) against moto_server with IAM authentication on, behind the test TLS terminator.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import awstest
import lrtest
import test_package  # ensure_package(); imported as a module so its tests are not collected here
import tlstest

PEER_FAILED_VERIFICATION = 60  # CURLE_PEER_FAILED_VERIFICATION


class StaticTLSTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        reason = tlstest.openssl_missing()
        if reason:
            raise unittest.SkipTest(reason)
        test_package.ensure_package()
        cls.prefix = os.path.join(lrtest.build_dir(), test_package.arch_dir(), "prefix")
        cls.client = os.path.join(lrtest.build_dir(), test_package.arch_dir(), "lr_bench_tls_client")
        if not os.path.exists(cls.client):
            raise unittest.SkipTest("the superbuild was configured with LR_BUILD_BENCH=OFF: no "
                                    "static TLS client to test with")
        cls.ca = tlstest.TestCA()
        cls.good = cls.ca.issue("good", ["localhost", "127.0.0.1"])
        cls.other_host = cls.ca.issue("other", ["other.test"])
        cls.expired = cls.ca.issue("expired", ["localhost"], start="20200101000000Z",
                                   end="20200102000000Z")

    @classmethod
    def tearDownClass(cls):
        cls.ca.close()

    def get(self, cert, cainfo, *args):
        """Runs the static client against a TLS server with cert; returns (exit code, output)."""
        with tlstest.TLSServer(*cert) as srv:
            cmd = [self.client, "--url", "https://localhost:%d/" % srv.port] + list(args)
            if cainfo:
                cmd += ["--cainfo", cainfo]
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        return proc.returncode, proc.stdout.decode(errors="replace")

    def assert_refused(self, rc, out, reason):
        self.assertEqual(1, rc, out)
        self.assertIn("curl_error=%d " % PEER_FAILED_VERIFICATION, out)
        self.assertIn(reason, out)

    def test_the_ca_given_by_cainfo_verifies_the_server(self):
        rc, out = self.get(self.good, self.ca.cert, "--fresh", "2", "--reuse", "5")
        self.assertEqual(0, rc, out)
        self.assertRegex(out, r"handshake_full n=2 ")
        self.assertRegex(out, r"request_kept_alive n=5 ")  # the client checks NUM_CONNECTS == 0

    def test_without_a_ca_the_same_server_is_refused(self):
        rc, out = self.get(self.good, None, "--fresh", "1")
        self.assert_refused(rc, out, "NOT_TRUSTED")

    def test_a_certificate_for_another_host_is_refused(self):
        rc, out = self.get(self.other_host, self.ca.cert, "--fresh", "1")
        self.assert_refused(rc, out, "CN_MISMATCH")

    def test_an_expired_certificate_is_refused(self):
        rc, out = self.get(self.expired, self.ca.cert, "--fresh", "1")
        self.assert_refused(rc, out, "EXPIRED")

    def test_a_ca_file_of_another_ca_is_refused(self):
        with tlstest.TestCA() as stranger:
            rc, out = self.get(self.good, stranger.cert, "--fresh", "1")
        self.assert_refused(rc, out, "NOT_TRUSTED")

    def test_libcurl_has_no_compiled_in_ca_file_or_directory(self):
        # The CA bundle is always the caller's CURLOPT_CAINFO: nothing that could differ silently
        # between the build machine and Lambda.
        out = subprocess.run([self.client, "--info"], stdout=subprocess.PIPE, check=True).stdout.decode()
        self.assertRegex(out, r"ssl_version=mbedTLS/2\.28\.\d+")
        self.assertIn("default_cainfo=(none)\n", out)
        self.assertIn("default_capath=(none)\n", out)

    def test_libcurl_leaves_sigv4_signing_out(self):
        # Requests are signed by lr_aws; CURL_DISABLE_CRYPTO_AUTH compiles curl's AWS SigV4 out.
        nm = shutil.which("nm")
        if nm is None:
            self.skipTest("nm (binutils) is not installed")
        symbols = subprocess.run([nm, "--defined-only", os.path.join(self.prefix, "lib", "libcurl.a")],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                 check=True).stdout.decode()
        self.assertIn("Curl_http_output_auth", symbols)  # the control: the symbols are visible
        self.assertNotRegex(symbols, re.compile(r"\bCurl_output_aws_sigv4\b"))

    def test_the_mbedtls_headers_carry_the_projects_configuration(self):
        # lr_aws (LR_AWS_CRYPTO=mbedtls) and libcurl must compile against the library's own settings.
        with open(os.path.join(self.prefix, "include", "mbedtls", "config.h")) as f:
            config = f.read()
        self.assertIn("LR_MBEDTLS_CONFIG_H", config)
        self.assertIn("#define MBEDTLS_SSL_CLI_C", config)
        self.assertNotIn("#define MBEDTLS_SSL_SRV_C", config)
        for lib in ("libmbedtls.a", "libmbedx509.a", "libmbedcrypto.a"):
            self.assertTrue(os.path.isfile(os.path.join(self.prefix, "lib", lib)), lib)


SYSTEM_BUNDLES = ("/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/certs/ca-certificates.crt")  # lr_aws's order


class StaticAWSClientOnMoto(unittest.TestCase):
    """The static aws_call, linked like the bootstrap, signs DynamoDB calls that moto (IAM authentication
    on) accepts over TLS when SSL_CERT_FILE names the test CA, and refuses the server without it."""

    @classmethod
    def setUpClass(cls):
        reason = awstest.moto_missing() or awstest.pki_missing()
        if reason:
            raise unittest.SkipTest(reason)
        test_package.ensure_package()
        cls.program = os.path.join(lrtest.build_dir(), test_package.arch_dir(), "aws_call")
        if not os.access(cls.program, os.X_OK):
            raise unittest.SkipTest("the superbuild was configured with LR_BUILD_BENCH=OFF: no static "
                                    "aws_call to test with")
        cls.tmp = tempfile.TemporaryDirectory(prefix="static-aws-")
        cls.pki = awstest.TestPKI(cls.tmp.name)
        # Three unauthenticated actions: the IAM user's.
        cls.moto = awstest.Moto(INITIAL_NO_AUTH_ACTION_COUNT="3")
        cls.proxy = None
        try:
            cls.user = cls.moto.iam_user("static")
            cls.proxy = awstest.TLSProxy(cls.pki.server_context(cls.pki.good), cls.moto.port)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.proxy:
            cls.proxy.close()
        cls.moto.close()
        cls.tmp.cleanup()

    def call(self, op, body, secret=None, **env):
        env.setdefault("SSL_CERT_FILE", self.pki.ca)
        e = awstest.base_env(AWS_ACCESS_KEY_ID=self.user[0], AWS_SECRET_ACCESS_KEY=secret or self.user[1],
                             AWS_ENDPOINT_URL="https://localhost:%d" % self.proxy.port, **env)
        return awstest.aws_call(self, "dynamodb", op, json.dumps(body), e, secrets=self.user,
                                program=self.program)

    def ok(self, op, body):
        res = self.call(op, body)
        self.assertEqual("LR_OK", res.status, res.out + res.err)
        return json.loads(res.body)

    def test_a_signed_dynamodb_round_trip_over_tls(self):
        before = self.proxy.connections
        self.ok("CreateTable", {"TableName": "static", "BillingMode": "PAY_PER_REQUEST",
                                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]})
        self.ok("PutItem", {"TableName": "static", "Item": {"pk": {"S": "caf\u00e9"}, "n": {"N": "42"}}})
        got = self.ok("GetItem", {"TableName": "static", "Key": {"pk": {"S": "caf\u00e9"}}})
        self.assertEqual({"pk": {"S": "caf\u00e9"}, "n": {"N": "42"}}, got["Item"])
        self.assertEqual(3, self.proxy.connections - before)  # all three went through the terminator
        # boto3, independently, reads what the static client wrote.
        item = self.moto.client("dynamodb", *self.user).get_item(TableName="static", Key={"pk": {"S": "caf\u00e9"}})
        self.assertEqual({"N": "42"}, item["Item"]["n"])

    def test_the_client_under_test_is_the_static_one(self):
        if shutil.which("readelf") is None:
            self.skipTest("readelf (binutils) is not installed")
        segments = subprocess.run(["readelf", "-lW", self.program], stdout=subprocess.PIPE,
                                  check=True).stdout.decode()
        self.assertIn("LOAD", segments)  # the control: the program headers were read
        self.assertNotIn("INTERP", segments)  # no loader, no shared libcurl or libcrypto

    def test_the_static_floor_with_lr_aws_linked_calls_aws_only_when_an_invoke_asks(self):
        # lr_bench_floor_aws, the cold-start bench's "lr_aws linked, not called" row: the client is in
        # the binary (lr_aws's DynamoDB target prefix; not in the plain floor) and works, but nothing
        # of it runs before an invoke asks for a call.
        static_dir = os.path.dirname(self.program)
        floor, floor_aws = (os.path.join(static_dir, p) for p in ("lr_bench_floor", "lr_bench_floor_aws"))
        for path, linked in ((floor, False), (floor_aws, True)):
            with open(path, "rb") as f:
                self.assertEqual(linked, b"DynamoDB_20120810" in f.read(), path)
        env = {k: None for k in os.environ if k.startswith("AWS_") or k == "SSL_CERT_FILE"}
        env.update(AWS_ACCESS_KEY_ID=self.user[0], AWS_SECRET_ACCESS_KEY=self.user[1], AWS_REGION="us-east-1",
                   AWS_ENDPOINT_URL="https://localhost:%d" % self.proxy.port, SSL_CERT_FILE=self.pki.ca)
        before = self.proxy.connections
        with lrtest.Emulator(bootstrap=floor_aws, env=env) as emu:
            status, _, body = emu.invoke(b'{"Records":[]}')
            self.assertEqual((200, b'{"batchItemFailures":[]}'), (status, body))
            self.assertEqual(before, self.proxy.connections)  # no AWS connection for a plain invoke
            status, _, body = emu.invoke(b'{"floor":"aws"}')
            self.assertEqual((200, b'{"aws":"LR_OK"}'), (status, body))
            self.assertEqual(before + 1, self.proxy.connections)
            logs = emu.logs()
        awstest.check_output(self, logs, self.user)

    def test_a_wrong_secret_is_refused(self):
        # The signature is checked, not ignored: moto refuses the same call signed with another secret.
        secret = self.user[1][:-4] + ("AAAA" if not self.user[1].endswith("AAAA") else "BBBB")
        res = self.call("ListTables", {}, secret=secret)
        self.assertEqual(("LR_E_AWS_SERVICE", 403, "SignatureDoesNotMatch"),
                         (res.status, res.last["http"], res.last["code"]))

    def test_without_the_test_ca_the_server_is_refused(self):
        # SSL_CERT_FILE unset: lr_aws takes the first system bundle, which does not hold the test CA.
        res = self.call("ListTables", {}, SSL_CERT_FILE=None)
        if any(os.access(p, os.R_OK) for p in SYSTEM_BUNDLES):
            self.assertEqual(("LR_E_TLS_CERT_UNTRUSTED", 1), (res.status, res.last["attempts"]), res.out)
        else:
            self.assertEqual(("LR_E_TLS_CA_BUNDLE", 1), (res.status, res.last["attempts"]), res.out)
        stranger = awstest.TestPKI(tempfile.mkdtemp(dir=self.tmp.name))  # a CA bundle of another CA
        res = self.call("ListTables", {}, SSL_CERT_FILE=stranger.ca)
        self.assertEqual(("LR_E_TLS_CERT_UNTRUSTED", 1), (res.status, res.last["attempts"]), res.out)


if __name__ == "__main__":
    unittest.main()
