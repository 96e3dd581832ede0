"""End to end against a local AWS (moto_server on loopback) with the real awscli and the project's
scripts: create-stack of cloudformation.yaml with the built bootstrap uploaded to S3, the created
resources as specified, then table -> stream -> tools/replay -> local emulator -> bundled bootstrap.

moto and event source mappings. When an item is written to a table that has a mapping, moto invokes
the mapped function itself, in Docker (moto/dynamodb/models/table.py StreamShard.add). Without Docker
the failure is contained (moto logs "error running docker" and the write succeeds), but the failed
invoke still returns a non-empty error text, which moto takes as "delivered" and so it empties the
shard: GetRecords then returns nothing, and the next records reuse the same sequence numbers. moto
also ignores the mapping's Enabled flag here and keeps the table's link to the mapping even after
DeleteEventSourceMapping. The clean way around it is in the template: its EventSourceMapping
parameter (enabled | disabled | none) can leave the mapping out. So this test creates two stacks:
the default one (mapping enabled), whose resources are asserted but whose table is never written,
and one with EventSourceMapping=none, whose stream carries the demo changes to the replay tool.
moto's CloudFormation also does not create AWS::CloudWatch::Alarm resources; the alarms of the
deployed template are therefore resolved against the stack and sent through PutMetricAlarm.

The sinks: a stack per sink (dynamodb, sqs standard and FIFO, sns, eventbridge) with the target it
creates, its stream replayed into the bundled bootstrap with the deployed environment, and every
change looked for where the sink put it (an SQS queue subscribed to the topic, or targeted by a rule
on the bus, stands in for the consumer). moto's Ref of an AWS::Events::EventBus is the Python
object's repr, not the bus's name, so the templates take the name with GetAtt Name (as good on AWS).
"""

import ast
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import zipfile

import awstest
import lrtest
import streamload

SRC = lrtest.source_dir()
REGION = "us-east-1"
MAIN_STACK = "DynamoDB-Streams-Test"
REPLAY_STACK = "DynamoDB-Streams-Replay"
DEMO = [("INSERT", "101"), ("INSERT", "102"), ("INSERT", "103"), ("MODIFY", "101"), ("REMOVE", "102")]


def missing_tools():
    missing = [t for t in ("moto_server", "aws", "zip") if not shutil.which(t)]
    try:
        import boto3  # noqa: F401  (the replay tool needs it)
    except ImportError:
        missing.append("boto3")
    return missing


def policy_document(value):
    """moto returns inline policies as a Python repr string; real AWS as JSON."""
    if isinstance(value, dict):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return ast.literal_eval(value)


def as_list(value):
    return value if isinstance(value, list) else [value]


@unittest.skipIf(missing_tools(), "not installed: %s" % ", ".join(missing_tools()))
class EndToEndOnMoto(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="e2e-moto-")
        cls.env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                       AWS_DEFAULT_REGION=REGION, AWS_EC2_METADATA_DISABLED="true",
                       AWS_CONFIG_FILE=os.path.join(cls.tmp.name, "none"),
                       AWS_SHARED_CREDENTIALS_FILE=os.path.join(cls.tmp.name, "none"))
        cls.env.pop("AWS_PROFILE", None)
        # The interpreter's own bin first: awscli next to it, not through slow shims.
        cls.env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + cls.env.get("PATH", "")
        cls.moto = None
        try:
            cls.moto = awstest.Moto()
            cls.endpoint = cls.moto.endpoint
            cls.zip = cls.zip_bootstrap()
            cls.main = cls.deploy(MAIN_STACK)
            cls.rstack = cls.deploy(REPLAY_STACK, "EventSourceMapping=none")
            cls.script("put-demo-items", "--stack-name", REPLAY_STACK)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.moto is not None:
            cls.moto.close()
        cls.tmp.cleanup()

    # -- helpers ----------------------------------------------------------------------------------

    @classmethod
    def zip_bootstrap(cls):
        boot = lrtest.bootstrap_path()
        if not os.access(boot, os.X_OK):
            raise RuntimeError("bootstrap not built: %s" % boot)
        path = os.path.join(cls.tmp.name, "function.zip")
        subprocess.run(["zip", "-q", "-X", "-j", path, boot], check=True)
        with zipfile.ZipFile(path) as z:
            assert z.namelist() == ["bootstrap"], z.namelist()
        return path

    @classmethod
    def run_script(cls, name, *args, endpoint=None):
        return subprocess.run([os.path.join(SRC, "scripts", name), "--endpoint-url", endpoint or cls.endpoint,
                               "--region", REGION] + list(args),
                              env=cls.env, capture_output=True, text=True, timeout=300)

    @classmethod
    def script(cls, name, *args, endpoint=None):
        proc = cls.run_script(name, *args, endpoint=endpoint)
        if proc.returncode != 0:
            raise AssertionError("scripts/%s failed (%d):\n%s\n%s"
                                 % (name, proc.returncode, proc.stdout, proc.stderr))
        return proc.stdout

    @classmethod
    def deploy(cls, stack, *overrides):
        out = cls.script("deploy", "--stack-name", stack, "--zip", cls.zip, "--", *overrides)
        # scripts/outputs prints KEY=VALUE lines (shell-quoted; our values need no quoting).
        return dict(line.split("=", 1) for line in out.splitlines() if re.match(r"^\w+=", line))

    @classmethod
    def client(cls, service):
        """A boto3 client on moto for the assertions (the deployment itself goes through awscli)."""
        import boto3
        return boto3.client(service, endpoint_url=cls.endpoint, region_name=REGION,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def replay(self, *args, emulator=None):
        cmd = [sys.executable, os.path.join(SRC, "tools", "replay", "replay.py"), "--json",
               "--endpoint-url", self.endpoint, "--region", REGION,
               "--table", self.rstack["oDynamoDBTableName"], "--starting-position", "TRIM_HORIZON"]
        if emulator is not None:
            cmd += ["--invoke-url", emulator.invoke_url]
        proc = subprocess.run(cmd + list(args), env=self.env, capture_output=True, text=True,
                              timeout=300 * lrtest.slow_factor())
        lines = [json.loads(line) for line in proc.stdout.splitlines()]
        return proc, [x for x in lines if "delivery" in x], lines

    def stream_records(self):
        """The replay stack's stream as GetRecords returns it (sequence numbers in order)."""
        arn = self.rstack["oDynamoDBStreamArn"]
        streams = self.client("dynamodbstreams")
        shards = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
        self.assertEqual(len(shards), 1)
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shards[0]["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        return streams.get_records(ShardIterator=it)["Records"]

    @staticmethod
    def invocations(logs, kind="record"):
        """The handler's JSON lines of each invocation in the emulator's output, in order: one list
        per invocation. kind "record": the one line per processed record (it carries the keys);
        kind "failure": the line per failed record (it carries the reason)."""
        out, current = [], None
        for line in logs.splitlines():
            if line.startswith("START RequestId:"):
                current = []
            elif line.startswith("END RequestId:"):
                out.append(current)
                current = None
            elif current is not None and line.startswith("{"):
                doc = json.loads(line)
                if "sequenceNumber" not in doc or "eventID" not in doc:
                    continue
                if (kind == "record" and "keys" in doc) or (kind == "failure" and "reason" in doc):
                    current.append(doc)
        return out

    # -- the deployed resources ---------------------------------------------------------------------

    def test_stack_outputs_have_the_articles_keys(self):
        stack = self.client("cloudformation").describe_stacks(StackName=MAIN_STACK)["Stacks"][0]
        self.assertEqual(stack["StackStatus"], "CREATE_COMPLETE")
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
        self.assertEqual(self.main["TABLE_NAME"], outputs["oDynamoDBTableName"])
        self.assertEqual(self.main["LAMBDA_NAME"], outputs["rLoggingFunctionName"])
        self.assertTrue(outputs["rLoggingFunctionName"].startswith(MAIN_STACK + "-rLoggingFunction-"))
        self.assertEqual(outputs["oLogGroupName"], "/aws/lambda/%s-rLoggingFunction" % MAIN_STACK)
        self.assertIn("oEventSourceMappingId", outputs)
        self.assertNotIn("oEventSourceMappingId", self.rstack)

    def test_table_has_a_new_and_old_images_stream_and_is_on_demand(self):
        t = self.client("dynamodb").describe_table(TableName=self.main["oDynamoDBTableName"])["Table"]
        self.assertEqual(t["StreamSpecification"], {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
        self.assertEqual(t["LatestStreamArn"], self.main["oDynamoDBStreamArn"])
        self.assertEqual(t["BillingModeSummary"]["BillingMode"], "PAY_PER_REQUEST")
        self.assertEqual(t["KeySchema"], [{"AttributeName": "id", "KeyType": "HASH"}])

    def test_event_source_mapping_settings(self):
        # By ARN: moto matches --function-name only against the ARN (AWS takes either).
        lam = self.client("lambda")
        esms = lam.list_event_source_mappings(FunctionName=self.main["oFunctionArn"])["EventSourceMappings"]
        self.assertEqual(len(esms), 1)
        m = esms[0]
        self.assertEqual(m["UUID"], self.main["oEventSourceMappingId"])
        self.assertEqual(m["EventSourceArn"], self.main["oDynamoDBStreamArn"])
        self.assertEqual(m["FunctionArn"], self.main["oFunctionArn"])
        self.assertEqual(m["State"], "Enabled")
        self.assertEqual(m["FunctionResponseTypes"], ["ReportBatchItemFailures"])
        self.assertEqual(m["DestinationConfig"], {"OnFailure": {"Destination": self.main["oFailureQueueArn"]}})
        got = {k: m[k] for k in ("BatchSize", "MaximumBatchingWindowInSeconds", "StartingPosition",
                                  "BisectBatchOnFunctionError", "MaximumRetryAttempts",
                                  "MaximumRecordAgeInSeconds", "ParallelizationFactor")}
        self.assertEqual(got, {"BatchSize": 100, "MaximumBatchingWindowInSeconds": 300,
                               "StartingPosition": "LATEST", "BisectBatchOnFunctionError": True,
                               "MaximumRetryAttempts": 5, "MaximumRecordAgeInSeconds": 3600,
                               "ParallelizationFactor": 1})
        self.assertNotIn("FilterCriteria", m)
        self.assertIn(m.get("TumblingWindowInSeconds"), (None, 0))  # the default stack has no window
        self.assertEqual(m["MetricsConfig"], {"Metrics": ["EventCount"]})
        none = lam.list_event_source_mappings(FunctionName=self.rstack["oFunctionArn"])["EventSourceMappings"]
        self.assertEqual(none, [])

    def test_function_configuration(self):
        c = self.client("lambda").get_function_configuration(FunctionName=self.main["rLoggingFunctionName"])
        self.assertEqual((c["Runtime"], c["Handler"], c["MemorySize"], c["Timeout"]),
                         ("provided.al2023", "bootstrap", 256, 300))
        # Sink=log (the default) adds nothing: no LR_SINK, no LR_SINK_TARGET.
        self.assertEqual(c["Environment"]["Variables"], {
            "LR_BATCH_MODE": "ordered", "LR_ALL_FAILED": "items", "LR_LOG_RECORDS": "full",
            "LR_EMF": "on", "LR_EMF_NAMESPACE": "DynamoDBStreamsLambda"})
        self.assertNotIn("oSinkTarget", self.main)
        with open(self.zip, "rb") as f:
            self.assertEqual(c["CodeSize"], len(f.read()))
        # moto's CloudFormation drops Architectures, LoggingConfig and TracingConfig (it reports its
        # defaults); test_templates asserts them in the template.

    def role_grants(self, outputs):
        """{action: [resources]} of the deployed function's role, and the statements moto nulled."""
        statements, nulls = self.role_statements(outputs)
        grants = {}
        for s in statements:
            self.assertEqual(s["Effect"], "Allow")
            for action in as_list(s["Action"]):
                grants[action] = as_list(s["Resource"])
        return grants, nulls

    def test_role_policy_is_scoped_to_this_stacks_resources(self):
        grants, nulls = self.role_grants(self.main)
        # moto keeps a null where AWS::NoValue removes a list element (its CloudFormation parser,
        # clean_json in moto/cloudformation/parsing.py, drops None from objects but not from lists).
        # The nulls are the X-Ray statement that only Tracing=Active fills in and the sink statement
        # that only a sink other than log fills in; AWS leaves nothing there.
        self.assertEqual(nulls, 2)
        stream, table = self.main["oDynamoDBStreamArn"], self.main["oDynamoDBStreamArn"].split("/stream/")[0]
        group = "arn:aws:logs:%s:123456789012:log-group:%s" % (REGION, self.main["oLogGroupName"])
        self.assertEqual(grants, {
            "dynamodb:DescribeStream": [stream], "dynamodb:GetRecords": [stream],
            "dynamodb:GetShardIterator": [stream], "dynamodb:ListStreams": [table + "/stream/*"],
            "logs:CreateLogStream": [group, group + ":log-stream:*"],
            "logs:PutLogEvents": [group, group + ":log-stream:*"],
            "sqs:SendMessage": [self.main["oFailureQueueArn"]]})

    def test_failure_queue_is_encrypted(self):
        attrs = self.client("sqs").get_queue_attributes(QueueUrl=self.main["oFailureQueueUrl"],
                                                        AttributeNames=["All"])["Attributes"]
        self.assertEqual(attrs["SqsManagedSseEnabled"], "true")
        self.assertEqual(attrs["QueueArn"], self.main["oFailureQueueArn"])
        self.assertEqual(attrs["MessageRetentionPeriod"], "1209600")

    def test_log_group_retention(self):
        groups = self.client("logs").describe_log_groups(logGroupNamePrefix=self.main["oLogGroupName"])["logGroups"]
        self.assertEqual([(g["logGroupName"], g["retentionInDays"]) for g in groups],
                         [(self.main["oLogGroupName"], 14)])

    def test_alarms_of_the_deployed_template(self):
        body = self.client("cloudformation").get_template(StackName=MAIN_STACK)["TemplateBody"]
        from samtranslator.yaml_helper import yaml_parse
        template = yaml_parse(body) if isinstance(body, str) else body
        fn = self.main["rLoggingFunctionName"]
        cw = self.client("cloudwatch")
        alarms = {k: r["Properties"] for k, r in template["Resources"].items()
                  if r["Type"] == "AWS::CloudWatch::Alarm"}
        self.assertEqual(sorted(alarms), ["rErrorsAlarm", "rIteratorAgeAlarm", "rThrottlesAlarm"])
        for logical, props in alarms.items():
            call = {k: v for k, v in props.items() if k != "AlarmActions"}  # AlarmTopicArn is empty
            call["Dimensions"] = [{"Name": "FunctionName", "Value": fn}]
            self.assertEqual(props["Dimensions"], [{"Name": "FunctionName", "Value": {"Ref": "rLoggingFunction"}}])
            if call["Threshold"] == {"Ref": "IteratorAgeAlarmThresholdMs"}:
                call["Threshold"] = 60000
            call["AlarmName"] = "%s-%s" % (MAIN_STACK, logical)
            cw.put_metric_alarm(**call)
        got = cw.describe_alarms(AlarmNamePrefix=MAIN_STACK + "-r")["MetricAlarms"]
        summary = sorted((a["MetricName"], a["Namespace"], a["Statistic"], a["Threshold"],
                          a["ComparisonOperator"], a["Dimensions"][0]["Value"]) for a in got)
        self.assertEqual(summary, [
            ("Errors", "AWS/Lambda", "Sum", 0.0, "GreaterThanThreshold", fn),
            ("IteratorAge", "AWS/Lambda", "Maximum", 60000.0, "GreaterThanThreshold", fn),
            ("Throttles", "AWS/Lambda", "Sum", 0.0, "GreaterThanThreshold", fn)])

    def test_dashboard_names_this_function_table_and_stream(self):
        d = self.client("cloudwatch").get_dashboard(DashboardName=self.main["oDashboardName"])
        metrics = [m for w in json.loads(d["DashboardBody"])["widgets"] for m in w["properties"]["metrics"]]
        fn, table = self.main["rLoggingFunctionName"], self.main["oDynamoDBTableName"]
        label = self.main["oDynamoDBStreamArn"].rsplit("/", 1)[1]
        names = sorted({m[1] for m in metrics})
        self.assertEqual(names, ["Duration", "Errors", "IteratorAge", "ReturnedBytes",
                                 "ReturnedRecordsCount", "Throttles", "UserErrors"])
        for m in metrics:
            if m[0] == "AWS/Lambda":
                self.assertEqual(m[2:4], ["FunctionName", fn])
            elif m[1] != "UserErrors":
                self.assertEqual(m[2:8], ["Operation", "GetRecords", "StreamLabel", label, "TableName", table])

    def test_replicating_stacks_then_teardown(self):
        """Sink=dynamodb through awscli: with CreateSinkTarget=true the stack makes the replica (the
        source's key schema) and grants BatchWriteItem on it alone; with SinkTarget a name, on the
        ARN built from it. The Rules are not checked here: moto does not evaluate them
        (test_templates evaluates them instead)."""
        ddb = self.client("dynamodb")
        out = self.deploy("DynamoDB-Streams-Replica", "Sink=dynamodb", "CreateSinkTarget=true",
                          "EventSourceMapping=none")
        replica, source = out["oSinkTarget"], out["oDynamoDBTableName"]
        self.assertNotEqual(replica, source)
        r, t = (ddb.describe_table(TableName=n)["Table"] for n in (replica, source))
        for key in ("KeySchema", "AttributeDefinitions", "BillingModeSummary"):
            self.assertEqual(r[key], t[key], key)
        self.assertNotIn("StreamSpecification", r)
        c = self.client("lambda").get_function_configuration(FunctionName=out["rLoggingFunctionName"])
        env = c["Environment"]["Variables"]
        self.assertEqual((env["LR_SINK"], env["LR_SINK_TARGET"]), ("dynamodb", replica))
        grants, nulls = self.role_grants(out)
        self.assertEqual(nulls, 1)  # the X-Ray statement
        self.assertEqual(grants["dynamodb:BatchWriteItem"], [r["TableArn"]])
        self.assertEqual([a for a in grants if a not in self.role_grants(self.main)[0]],
                         ["dynamodb:BatchWriteItem"])
        self.replicate_with_the_deployed_settings(source, replica, env)

        named = self.deploy("DynamoDB-Streams-Named", "Sink=dynamodb", "SinkTarget=" + replica,
                            "EventSourceMapping=none")
        self.assertEqual(named["oSinkTarget"], replica)
        self.assertEqual(self.role_grants(named)[0]["dynamodb:BatchWriteItem"], [r["TableArn"]])
        before = ddb.list_tables()["TableNames"]
        self.script("teardown", "--stack-name", "DynamoDB-Streams-Named")
        self.assertIn(replica, ddb.list_tables()["TableNames"])  # a given target is not the stack's
        self.script("teardown", "--stack-name", "DynamoDB-Streams-Replica")
        after = ddb.list_tables()["TableNames"]
        self.assertEqual(sorted(set(before) - set(after)), sorted([named["oDynamoDBTableName"], source, replica]))

    def replicate_with_the_deployed_settings(self, source, replica, deployed_env):
        """The deployed function's own environment (LR_SINK, LR_SINK_TARGET, ...) given to the bundled
        bootstrap under the emulator, the stack's stream replayed into it: the stack's replica then
        equals its source."""
        ddb = self.client("dynamodb")
        self.write_changes(source)
        self.run_with_the_deployed_env(source, deployed_env)

        def items(table):
            return sorted(ddb.scan(TableName=table, ConsistentRead=True)["Items"], key=lambda x: x["id"]["S"])
        self.assertEqual(items(replica), items(source))
        self.assertEqual(len(items(replica)), 11)

    def write_changes(self, source):
        """40 puts on 15 keys (INSERT, then MODIFY), then 4 of the keys deleted (REMOVE)."""
        ddb = self.client("dynamodb")
        for i in range(40):
            ddb.put_item(TableName=source, Item={"id": {"S": "r%02d" % (i % 15)}, "n": {"N": str(i)},
                                                 "tags": {"SS": ["a", "b%d" % i]}})
        for i in range(0, 15, 4):
            ddb.delete_item(TableName=source, Key={"id": {"S": "r%02d" % i}})

    def run_with_the_deployed_env(self, source, deployed_env):
        """Replays source's stream from TRIM_HORIZON, 10 records per batch, into the bundled bootstrap
        with the deployed LR_ settings and every AWS endpoint it may call pointed at moto; asserts
        every batch succeeded and returns the emulator's logs."""
        env = {k: v for k, v in deployed_env.items() if k.startswith("LR_") or k.startswith("AWS_LAMBDA_")}
        # The names the bootstrap reads (lr_aws_config.c): EventBridge's is AWS_ENDPOINT_URL_EVENTBRIDGE.
        for service in ("DYNAMODB", "SQS", "SNS", "EVENTBRIDGE"):
            env["AWS_ENDPOINT_URL_" + service] = self.endpoint
        env.update(AWS_REGION=REGION, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                   AWS_SESSION_TOKEN=None, AWS_PROFILE=None)
        with lrtest.Emulator(env=env) as emu:
            cmd = [sys.executable, os.path.join(SRC, "tools", "replay", "replay.py"), "--json",
                   "--endpoint-url", self.endpoint, "--region", REGION, "--table", source,
                   "--starting-position", "TRIM_HORIZON", "--batch-size", "10", "--invoke-url", emu.invoke_url]
            proc = subprocess.run(cmd, env=self.env, capture_output=True, text=True,
                                  timeout=300 * lrtest.slow_factor())
            logs = emu.logs()
        self.assertEqual(proc.returncode, 0, proc.stderr + logs)
        deliveries = [json.loads(line) for line in proc.stdout.splitlines() if '"delivery"' in line]
        self.assertTrue(deliveries and all(d["result"] == "ok" for d in deliveries), proc.stdout + logs)
        return logs

    # -- the message sinks: sqs, sns, eventbridge ---------------------------------------------------

    def deploy_message_sink(self, stack, sink, *overrides):
        """A stack with Sink=sink and CreateSinkTarget=true (no mapping): its outputs, the deployed
        environment, and the role's sink statement, asserted to be the one statement the stack adds
        to the default stack's."""
        out = self.deploy(stack, "Sink=" + sink, "CreateSinkTarget=true", "EventSourceMapping=none", *overrides)
        c = self.client("lambda").get_function_configuration(FunctionName=out["rLoggingFunctionName"])
        env = c["Environment"]["Variables"]
        self.assertEqual((env["LR_SINK"], env["LR_SINK_TARGET"]), (sink, out["oSinkTarget"]))
        self.assertEqual(sorted(env), sorted(["LR_BATCH_MODE", "LR_ALL_FAILED", "LR_LOG_RECORDS", "LR_EMF",
                                              "LR_EMF_NAMESPACE", "LR_SINK", "LR_SINK_TARGET"]))
        statements, nulls = self.role_statements(out)
        self.assertEqual(nulls, 1)  # the X-Ray statement (Tracing=none); see test_role_policy_is_scoped...
        base, _ = self.role_statements(self.main)
        self.assertEqual([(s["Action"], len(as_list(s["Resource"]))) for s in statements[:-1]],
                         [(s["Action"], len(as_list(s["Resource"]))) for s in base])
        sink_statement = statements[-1]
        return out, env, sink_statement

    def role_statements(self, outputs):
        """The non-null statements of the deployed function's role's one policy, and how many moto nulled."""
        role = self.client("lambda").get_function_configuration(
            FunctionName=outputs["rLoggingFunctionName"])["Role"]
        name = role.rsplit("/", 1)[1]
        iam = self.client("iam")
        self.assertEqual(iam.list_role_policies(RoleName=name)["PolicyNames"], ["LambdaRolePolicy"])
        self.assertEqual(iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"], [])
        doc = policy_document(iam.get_role_policy(RoleName=name, PolicyName="LambdaRolePolicy")["PolicyDocument"])
        return [s for s in doc["Statement"] if s is not None], doc["Statement"].count(None)

    def assert_grant(self, statement, sid, action, resource):
        """Exactly one action on exactly one resource."""
        self.assertEqual((statement.get("Sid"), statement["Effect"], as_list(statement["Action"]),
                          as_list(statement["Resource"])), (sid, "Allow", [action], [resource]))

    def consumer_queue(self, name, fifo=False):
        """A queue the test reads the delivered messages from: (URL, ARN)."""
        sqs = self.client("sqs")
        attrs = {"FifoQueue": "true", "ContentBasedDeduplication": "true"} if fifo else {}
        url = sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
        return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    def drain(self, url):
        """Every message on the queue, in the order received (each batch deleted before the next, so a
        FIFO group's next message becomes visible)."""
        sqs, out = self.client("sqs"), []
        while True:
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                      MessageAttributeNames=["All"], AttributeNames=["All"]).get("Messages", [])
            if not got:
                return out
            out += got
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)])

    def assert_every_change_arrived(self, source, records):
        """records: the plain JSON records the consumer got, one per change, in the order received.
        Each stream record is there once, with its name, keys and images; applied in sequence order
        they give the table."""
        stream = self.client("dynamodbstreams")
        arn = self.client("dynamodb").describe_table(TableName=source)["Table"]["LatestStreamArn"]
        want = [(r["eventName"], r["eventID"], r["dynamodb"]["SequenceNumber"], r["dynamodb"]["Keys"]["id"]["S"])
                for r in awstest.stream_records(stream, arn)]
        self.assertEqual(len(want), 44)  # write_changes: 40 puts, 4 deletes
        by_seq = sorted(records, key=lambda r: int(r["sequenceNumber"]))
        self.assertEqual([(r["eventName"], r["eventID"], r["sequenceNumber"], r["keys"]["id"]) for r in by_seq], want)
        for r in records:
            self.assertEqual(r["table"], source)
            self.assertEqual(("newImage" in r, "oldImage" in r),
                             {"INSERT": (True, False), "MODIFY": (True, True), "REMOVE": (False, True)}[r["eventName"]],
                             r)
            self.assertRegex(r["approximateCreationDateTime"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
        # Per key, the order received is the stream's order (a FIFO queue guarantees it per group).
        for key in {r["keys"]["id"] for r in records}:
            got = [int(r["sequenceNumber"]) for r in records if r["keys"]["id"] == key]
            self.assertEqual(got, sorted(got), key)
        final = {}
        for r in by_seq:
            if r["eventName"] == "REMOVE":
                final.pop(r["keys"]["id"])
            else:
                final[r["keys"]["id"]] = (r["newImage"]["n"], sorted(r["newImage"]["tags"]))
        items = self.client("dynamodb").scan(TableName=source, ConsistentRead=True)["Items"]
        self.assertEqual(final, {x["id"]["S"]: (int(x["n"]["N"]), sorted(x["tags"]["SS"])) for x in items})
        self.assertEqual(len(final), 11)

    def assert_attributes(self, message, record):
        """The SQS message attributes eventName, sequenceNumber and table of a queue or topic message."""
        self.assertEqual({k: (v["DataType"], v["StringValue"]) for k, v in message["MessageAttributes"].items()},
                         {"eventName": ("String", record["eventName"]),
                          "sequenceNumber": ("String", record["sequenceNumber"]),
                          "table": ("String", record["table"])})

    def teardown_removes(self, stack, still_there):
        """scripts/teardown; still_there() then says whether the created target is left."""
        self.assertTrue(still_there())
        self.script("teardown", "--stack-name", stack)
        self.assertFalse(still_there())

    def check_queue_sink(self, stack, fifo):
        sqs = self.client("sqs")
        out, env, statement = self.deploy_message_sink(stack, "sqs", *(["SinkFifo=true"] if fifo else []))
        url = out["oSinkTarget"]
        name = url.rsplit("/", 1)[1]
        self.assertTrue(url.startswith("https://sqs.%s.amazonaws.com/123456789012/" % REGION), url)
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        self.assertEqual(attrs["SqsManagedSseEnabled"], "true")
        self.assertNotIn("KmsMasterKeyId", attrs)
        self.assertEqual(attrs["MessageRetentionPeriod"], "1209600")
        if fifo:
            self.assertEqual(name, stack + "-sink.fifo")
            self.assertEqual((attrs["FifoQueue"], attrs["ContentBasedDeduplication"]), ("true", "false"))
        else:
            self.assertFalse(name.endswith(".fifo"), name)
            self.assertEqual(attrs.get("FifoQueue", "false"), "false")
        self.assert_grant(statement, "SendToTheSinkQueue", "sqs:SendMessage", attrs["QueueArn"])

        self.write_changes(out["oDynamoDBTableName"])
        self.run_with_the_deployed_env(out["oDynamoDBTableName"], env)
        messages = self.drain(url)
        records = [json.loads(m["Body"]) for m in messages]
        for m, r in zip(messages, records):
            self.assert_attributes(m, r)
            if fifo:  # the sink's ids: the eventID, and one group per item key
                self.assertEqual(m["Attributes"]["MessageDeduplicationId"], r["eventID"])
                self.assertRegex(m["Attributes"]["MessageGroupId"], r"^[0-9a-f]{64}$")
        if fifo:
            groups = {}
            for m, r in zip(messages, records):
                groups.setdefault(r["keys"]["id"], set()).add(m["Attributes"]["MessageGroupId"])
            self.assertTrue(all(len(g) == 1 for g in groups.values()), groups)
            self.assertEqual(len({next(iter(g)) for g in groups.values()}), len(groups))
        self.assert_every_change_arrived(out["oDynamoDBTableName"], records)
        # ListQueues gives URLs on the endpoint asked (moto's), so compare the names.
        self.teardown_removes(stack, lambda: name in [u.rsplit("/", 1)[1] for u in
                                                     sqs.list_queues(QueueNamePrefix=name).get("QueueUrls", [])])

    def test_sqs_sink_stack_then_teardown(self):
        """Sink=sqs CreateSinkTarget=true: an SSE-SQS queue, sqs:SendMessage on its ARN alone, the
        queue URL as LR_SINK_TARGET; every change of the stream arrives on it as a message."""
        self.check_queue_sink("DynamoDB-Streams-Sqs", fifo=False)

    def test_sqs_fifo_sink_stack_then_teardown(self):
        """SinkFifo=true: a FIFO queue named STACK-sink.fifo without content-based deduplication; the
        sink's group (per item key) and deduplication (eventID) ids keep each key in order."""
        self.check_queue_sink("DynamoDB-Streams-SqsFifo", fifo=True)

    def test_sns_sink_stack_then_teardown(self):
        """Sink=sns CreateSinkTarget=true: a topic encrypted with the AWS managed key, sns:Publish on
        its ARN alone; an SQS queue subscribed with raw delivery gets every change."""
        stack, sns = "DynamoDB-Streams-Sns", self.client("sns")
        out, env, statement = self.deploy_message_sink(stack, "sns")
        topic = out["oSinkTarget"]
        self.assertTrue(topic.startswith("arn:aws:sns:%s:123456789012:%s-" % (REGION, stack)), topic)
        attrs = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
        self.assertEqual(attrs["KmsMasterKeyId"], "alias/aws/sns")
        self.assertNotEqual(attrs.get("FifoTopic"), "true")
        self.assert_grant(statement, "PublishToTheSinkTopic", "sns:Publish", topic)

        url, arn = self.consumer_queue("sns-sink-consumer")
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
        self.write_changes(out["oDynamoDBTableName"])
        self.run_with_the_deployed_env(out["oDynamoDBTableName"], env)
        messages = self.drain(url)
        records = [json.loads(m["Body"]) for m in messages]
        for m, r in zip(messages, records):
            self.assert_attributes(m, r)
        self.assert_every_change_arrived(out["oDynamoDBTableName"], records)
        self.teardown_removes(stack, lambda: topic in [t["TopicArn"] for t in sns.list_topics()["Topics"]])

    def test_eventbridge_sink_stack_then_teardown(self):
        """Sink=eventbridge CreateSinkTarget=true: a bus named STACK-sink, events:PutEvents on its ARN
        alone, its name as LR_SINK_TARGET; a rule on the bus targeting an SQS queue gets every change,
        source lambda-ddb, detail-type the eventName, detail the record."""
        stack, events = "DynamoDB-Streams-Bus", self.client("events")
        out, env, statement = self.deploy_message_sink(stack, "eventbridge")
        self.assertEqual(out["oSinkTarget"], stack + "-sink")
        bus = events.describe_event_bus(Name=out["oSinkTarget"])
        self.assertEqual(bus["Arn"], "arn:aws:events:%s:123456789012:event-bus/%s-sink" % (REGION, stack))
        self.assert_grant(statement, "PutEventsOnTheSinkBus", "events:PutEvents", bus["Arn"])

        url, arn = self.consumer_queue("bus-sink-consumer")
        events.put_rule(Name="all-changes", EventBusName=bus["Name"], EventPattern=json.dumps({"source": ["lambda-ddb"]}))
        events.put_targets(Rule="all-changes", EventBusName=bus["Name"], Targets=[{"Id": "queue", "Arn": arn}])
        self.write_changes(out["oDynamoDBTableName"])
        self.run_with_the_deployed_env(out["oDynamoDBTableName"], env)
        evs = [json.loads(m["Body"]) for m in self.drain(url)]
        for e in evs:
            self.assertEqual((e["source"], e["detail-type"]), ("lambda-ddb", e["detail"]["eventName"]))
        self.assert_every_change_arrived(out["oDynamoDBTableName"], [e["detail"] for e in evs])
        # A bus with rules cannot be deleted on AWS; the rule is the test's, so it goes first.
        events.remove_targets(Rule="all-changes", EventBusName=bus["Name"], Ids=["queue"])
        events.delete_rule(Name="all-changes", EventBusName=bus["Name"])
        self.teardown_removes(stack, lambda: bus["Name"] in [b["Name"] for b in events.list_event_buses()["EventBuses"]])

    # -- table -> stream -> replay -> emulator -> bootstrap -----------------------------------------

    def test_demo_changes_are_on_the_stream(self):
        recs = self.stream_records()
        self.assertEqual([(r["eventName"], r["dynamodb"]["Keys"]["id"]["S"]) for r in recs], DEMO)
        seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in recs]
        self.assertEqual(seqs, sorted(seqs))
        modify = recs[3]["dynamodb"]
        self.assertEqual(modify["NewImage"]["Message"], {"S": "This item has changed"})
        self.assertEqual(modify["OldImage"]["Message"], {"S": "New item!"})

    def test_replay_delivers_every_change_exactly_once(self):
        seqs = [r["dynamodb"]["SequenceNumber"] for r in self.stream_records()]
        env = {"LR_BATCH_MODE": "continue", "AWS_LAMBDA_LOG_FORMAT": "JSON"}
        with lrtest.Emulator(env=env) as emu:
            proc, deliveries, lines = self.replay(emulator=emu)
            logs = emu.logs()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual([(d["sequenceNumbers"], d["result"], d["attempt"]) for d in deliveries],
                         [(seqs, "ok", 0)])
        self.assertEqual(json.loads(deliveries[0]["response"]), {"batchItemFailures": []})
        self.assertEqual(lines[-1], {"summary": {"deliveries": 1, "recordsDelivered": 5, "discarded": []}})
        inv = self.invocations(logs)
        self.assertEqual(len(inv), 1, logs)
        self.assertEqual([r["sequenceNumber"] for r in inv[0]], seqs)
        self.assertEqual([(r["eventName"], r["keys"]["id"]["S"]) for r in inv[0]], DEMO)
        modify = inv[0][3]
        self.assertEqual((modify["newImage"]["Count"], modify["oldImage"]["Count"]), ({"N": "2"}, {"N": "1"}))
        self.assertIsNone(inv[0][4]["newImage"])

    def test_failed_record_is_redelivered_from_its_checkpoint(self):
        seqs = [r["dynamodb"]["SequenceNumber"] for r in self.stream_records()]
        bad = seqs[3]
        env = {"LR_BATCH_MODE": "continue", "AWS_LAMBDA_LOG_FORMAT": "JSON",
               "LR_TEST_FAIL_SEQUENCE_NUMBERS": bad}
        with lrtest.Emulator(env=env) as emu:
            proc, deliveries, lines = self.replay("--max-retries", "2", emulator=emu)
            logs = emu.logs()
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertEqual([(d["sequenceNumbers"], d["result"], d["checkpoint"], d["attempt"]) for d in deliveries], [
            (seqs, "partial", bad, 0), (seqs[3:], "partial", bad, 1), (seqs[3:], "partial", bad, 2)])
        for d in deliveries:
            self.assertEqual(d["response"], '{"batchItemFailures":[{"itemIdentifier":"%s"}]}' % bad)
        self.assertEqual(lines[-2], {"discarded": seqs[3:], "shard": deliveries[0]["shard"],
                                     "condition": "RetryAttemptsExhausted"})
        self.assertEqual(lines[-1]["summary"], {"deliveries": 3, "recordsDelivered": 3, "discarded": seqs[3:]})
        # The bootstrap saw each delivered record exactly once per delivery.
        self.assertEqual([[r["sequenceNumber"] for r in i] for i in self.invocations(logs)],
                         [seqs, seqs[3:], seqs[3:]])
        self.assertEqual([[r["sequenceNumber"] for r in i] for i in self.invocations(logs, "failure")],
                         [[bad], [bad], [bad]])

    def test_replay_batches_and_runs_its_own_emulator(self):
        seqs = [r["dynamodb"]["SequenceNumber"] for r in self.stream_records()]
        log = os.path.join(self.tmp.name, "replay-emulator.log")
        env_args = ["--env", "LR_BATCH_MODE=ordered", "--env", "AWS_LAMBDA_LOG_FORMAT=JSON",
                    "--env", "LR_LOG_RECORDS=keys"]
        proc, deliveries, _ = self.replay("--batch-size", "2", "--bootstrap", lrtest.bootstrap_path(),
                                          "--emulator", lrtest.emulator_path(), "--emulator-log", log,
                                          *env_args)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual([d["sequenceNumbers"] for d in deliveries], [seqs[0:2], seqs[2:4], seqs[4:]])
        with open(log) as f:
            inv = self.invocations(f.read())
        self.assertEqual([[r["sequenceNumber"] for r in i] for i in inv], [seqs[0:2], seqs[2:4], seqs[4:]])
        # LR_LOG_RECORDS=keys reached the bootstrap: no images in the record lines.
        self.assertTrue(all("newImage" not in r and "oldImage" not in r for i in inv for r in i))

    def test_replay_stops_when_nothing_listens(self):
        class Nowhere:
            invoke_url = "http://127.0.0.1:%d%s" % (awstest.free_port(), lrtest.INVOKE_PATH)
        proc, deliveries, _ = self.replay(emulator=Nowhere())
        self.assertEqual((proc.returncode, deliveries), (2, []))
        self.assertIn("cannot reach http://127.0.0.1:", proc.stderr)

    # -- the remaining scripts ------------------------------------------------------------------------

    def test_logs_script_prints_the_function_log_group(self):
        group = self.rstack["oLogGroupName"]
        logs = self.client("logs")
        logs.create_log_stream(logGroupName=group, logStreamName="2026/e2e")
        logs.put_log_events(logGroupName=group, logStreamName="2026/e2e",
                            logEvents=[{"timestamp": int(time.time() * 1000), "message": "record 0: INSERT"}])
        out = self.script("logs", "--stack-name", REPLAY_STACK)
        self.assertEqual(out.splitlines()[-1].split(" ", 1)[1], "2026/e2e record 0: INSERT")

    def test_invoke_script_sends_input_json_through_awscli(self):
        # awscli's Invoke goes to /2015-03-31/functions/function/invocations: the emulator's path.
        env = {"LR_TEST_FAIL_SEQUENCE_NUMBERS": "222", "LR_BATCH_MODE": "continue"}
        with lrtest.Emulator(env=env) as emu:
            out = self.script("invoke", "--function", "function", endpoint="http://" + emu.invoke_address)
            emu.wait_for_log(r"END RequestId:")
            logs = emu.logs()
        self.assertEqual(out.splitlines(), ["StatusCode=200 FunctionError=",
                                            '{"batchItemFailures":[{"itemIdentifier":"222"}]}'])
        self.assertEqual(len(re.findall(r"^START RequestId:", logs, re.M)), 1)
        self.assertEqual([m for m in re.findall(r"sequenceNumber=(\d+)", logs)], ["111", "222", "222", "333"])

    def test_invoke_script_exits_1_when_the_function_failed(self):
        with lrtest.Emulator() as emu, tempfile.NamedTemporaryFile(suffix=".json") as event:
            event.write(b"not a stream event")
            event.flush()
            proc = self.run_script("invoke", "--function", "function", event.name,
                                   endpoint="http://" + emu.invoke_address)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        lines = proc.stdout.splitlines()
        self.assertEqual(lines[0], "StatusCode=200 FunctionError=Unhandled")
        self.assertEqual(json.loads(lines[1])["errorType"], "Function.InvalidEvent")

    def test_outputs_of_a_missing_stack_print_nothing_and_fail(self):
        proc = self.run_script("outputs", "--stack-name", "No-Such-Stack")
        self.assertNotEqual(proc.returncode, 0)
        self.assertEqual(proc.stdout, "")  # eval "$(scripts/outputs)" sets no empty variable
        self.assertIn("No-Such-Stack", proc.stderr)

    def test_parameter_variants_then_teardown(self):
        stack = "DynamoDB-Streams-Variant"
        pattern = '{"eventName":["INSERT"]}'
        # provided.al2 is no longer the default but stays allowed.
        out = self.deploy(stack, "Runtime=provided.al2", "Architectures=arm64", "LogFormat=Text",
                          "TableBillingMode=PROVISIONED", "EventSourceMapping=disabled",
                          "FilterPattern=" + pattern, "DeadlineMarginMs=2500", "BatchMode=continue",
                          "Tracing=Active", "TumblingWindowInSeconds=120")
        c = self.client("lambda").get_function_configuration(FunctionName=out["rLoggingFunctionName"])
        self.assertEqual(c["Runtime"], "provided.al2")
        grants, nulls = self.role_grants(out)
        self.assertEqual(nulls, 1)  # the sink statement (Sink=log)
        self.assertEqual({a: r for a, r in grants.items() if a.startswith("xray:")},
                         {"xray:PutTraceSegments": ["*"], "xray:PutTelemetryRecords": ["*"]})
        self.assertEqual(c["Environment"]["Variables"]["LR_DEADLINE_MARGIN_MS"], "2500")
        self.assertEqual(c["Environment"]["Variables"]["LR_BATCH_MODE"], "continue")
        t = self.client("dynamodb").describe_table(TableName=out["oDynamoDBTableName"])["Table"]
        self.assertEqual((t["ProvisionedThroughput"]["ReadCapacityUnits"],
                          t["ProvisionedThroughput"]["WriteCapacityUnits"]), (1, 1))
        m = self.client("lambda").list_event_source_mappings(FunctionName=out["oFunctionArn"])["EventSourceMappings"]
        self.assertEqual([(x["State"], x["FilterCriteria"], x.get("TumblingWindowInSeconds")) for x in m],
                         [("Disabled", {"Filters": [{"Pattern": pattern}]}, 120)])

        self.script("teardown", "--stack-name", stack)
        tables = self.client("dynamodb").list_tables()["TableNames"]
        self.assertNotIn(out["oDynamoDBTableName"], tables)
        self.assertIn(self.main["oDynamoDBTableName"], tables)
        # As on AWS, a deleted stack is either gone from DescribeStacks or reported DELETE_COMPLETE.
        try:
            status = self.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
        except Exception as e:  # botocore ClientError: "Stack ... does not exist"
            status = str(e)
        self.assertTrue(status == "DELETE_COMPLETE" or "does not exist" in status, status)


@unittest.skipIf(missing_tools(), "not installed: %s" % ", ".join(missing_tools()))
class ReplayUnderFailures(unittest.TestCase):
    """tools/replay against moto tables read by --stream-arn, into the real bundled bootstrap (with
    its testing switches where a record must fail): --bisect-on-error splits a failing batch as
    BisectBatchOnFunctionError does and counts retries as the mapping does; a bootstrap killed with
    kill -9 in the middle of a batch is a function error whose records are delivered again, none
    lost; and a streamload workload of thousands of changes arrives complete and in order."""

    @classmethod
    def setUpClass(cls):
        cls.moto = awstest.Moto()
        try:
            cls.ddb = cls.moto.client("dynamodb")
            cls.arns = {}
            for name in ("eight", "load"):
                cls.ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                                     KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                                     StreamSpecification={"StreamEnabled": True,
                                                          "StreamViewType": "NEW_AND_OLD_IMAGES"})
                cls.arns[name] = cls.ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
            for i in range(8):
                cls.ddb.put_item(TableName="eight", Item={"id": {"S": "s%d" % i}})
            cls.seqs = [r["dynamodb"]["SequenceNumber"] for r in cls.stream("eight")]
            assert len(cls.seqs) == 8, cls.seqs
        except BaseException:
            cls.moto.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.moto.close()

    @classmethod
    def stream(cls, table):
        return awstest.stream_records(cls.moto.client("dynamodbstreams"), cls.arns[table])

    def replay(self, table, emulator, *args):
        return awstest.run_replay(self.moto.endpoint, "--stream-arn", self.arns[table],
                                  "--invoke-url", emulator.invoke_url, "--idle-polls", "1", *args)

    @staticmethod
    def steps(lines):
        """Deliveries as (records, result, attempt) and splits as ("split", halves, attempt)."""
        out = []
        for x in lines:
            if "delivery" in x:
                out.append((x["sequenceNumbers"], x["result"], x["attempt"]))
            elif "split" in x:
                out.append(("split", x["into"], x["attempt"]))
        return out

    # The bundled handler, ordered, failing the invoke when no record succeeded: a batch that
    # starts with the poison record is a function error (Function.AllRecordsFailed), one with the
    # poison further in is a partial failure checkpointed at it.
    def poisoned(self, seq):
        return {"LR_BATCH_MODE": "ordered", "LR_ALL_FAILED": "error", "AWS_LAMBDA_LOG_FORMAT": "JSON",
                "LR_TEST_FAIL_SEQUENCE_NUMBERS": seq}

    def test_bisect_isolates_the_poison_record(self):
        s = self.seqs
        with lrtest.Emulator(env=self.poisoned(s[0])) as emu:
            proc, lines = self.replay("eight", emu, "--batch-size", "8", "--max-retries", "1",
                                      "--bisect-on-error")
            logs = emu.logs()
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertEqual(self.steps(lines), [
            (s, "error", 0), ("split", [s[:4], s[4:]], 0),
            (s[:4], "error", 0), ("split", [s[:2], s[2:4]], 0),
            (s[:2], "error", 0), ("split", [s[:1], s[1:2]], 0),
            (s[:1], "error", 0), (s[:1], "error", 1),      # one record: retried, then given up
            (s[1:2], "ok", 0), (s[2:4], "ok", 0), (s[4:], "ok", 0)])
        errors = [x for x in lines if x.get("result") == "error"]
        self.assertEqual({(x["functionError"], x["errorType"]) for x in errors},
                         {("Unhandled", "Function.AllRecordsFailed")})
        self.assertIn({"discarded": s[:1], "shard": lines[0]["shard"], "condition": "RetryAttemptsExhausted"},
                      lines)
        self.assertEqual(lines[-1]["summary"], {"deliveries": 8, "recordsDelivered": 7, "discarded": s[:1]})
        # What the function saw: the same deliveries, each record line once per delivery.
        ok = [x["sequenceNumbers"] for x in lines if x.get("result") == "ok"]
        self.assertEqual([r["sequenceNumber"] for r in lrtest.record_lines(logs)][-7:], sum(ok, []))

    def test_without_bisect_a_function_error_retries_the_whole_batch(self):
        s = self.seqs
        with lrtest.Emulator(env=self.poisoned(s[0])) as emu:
            proc, lines = self.replay("eight", emu, "--batch-size", "8", "--max-retries", "1")
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertEqual(self.steps(lines), [(s, "error", 0), (s, "error", 1)])
        self.assertEqual(lines[-1]["summary"], {"deliveries": 2, "recordsDelivered": 0, "discarded": s})

    def test_partial_failure_is_checkpointed_then_the_rest_bisected(self):
        # "When a partial batch success response is received and both BisectBatchOnFunctionError and
        # ReportBatchItemFailures are turned on, the batch is bisected at the returned sequence
        # number": the checkpoint is a retry; the halves of a later split keep its count.
        s = self.seqs
        with lrtest.Emulator(env=self.poisoned(s[5])) as emu:
            proc, lines = self.replay("eight", emu, "--batch-size", "8", "--max-retries", "1",
                                      "--bisect-on-error")
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertEqual(self.steps(lines), [
            (s, "partial", 0), (s[5:], "error", 1), ("split", [s[5:7], s[7:]], 1),
            (s[5:7], "error", 1), ("split", [s[5:6], s[6:7]], 1),
            (s[5:6], "error", 1), (s[6:7], "ok", 1), (s[7:], "ok", 1)])
        self.assertEqual(lines[-1]["summary"], {"deliveries": 6, "recordsDelivered": 7, "discarded": s[5:6]})

    def kill_mid_batch(self, emu, after_records):
        """A thread that kill -9s the bootstrap once it has logged after_records record lines."""
        def run():
            limit = time.monotonic() + 60 * lrtest.slow_factor()
            while time.monotonic() < limit and len(lrtest.record_lines(emu.logs())) < after_records:
                time.sleep(0.01)
            killed.append(emu.stats()["child_pid"])
            os.kill(killed[0], signal.SIGKILL)
        killed = []
        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t, killed

    def crash_run(self, after_records, *args):
        """Replays "eight" into the bundled bootstrap (100 ms per record), kill -9 once it has logged
        after_records record lines; returns (replay process, its lines, the sequence numbers of
        every record line the bootstrap wrote, how many of them the killed invoke wrote)."""
        env = {"AWS_LAMBDA_LOG_FORMAT": "JSON", "LR_TEST_RECORD_DELAY_MS": "100"}
        with lrtest.Emulator(env=env) as emu:
            killer, killed = self.kill_mid_batch(emu, after_records)
            proc, lines = self.replay("eight", emu, "--batch-size", "8", *args)
            killer.join()
            stats, logs = emu.stats(), emu.logs()
        self.assertEqual(len(killed), 1)
        self.assertEqual((stats["crashes"], stats["spawns"]), (1, 2))  # the emulator started a new one
        first = [x for x in lines if "delivery" in x][0]
        self.assertEqual((first["sequenceNumbers"], first["result"], first["functionError"], first["errorType"]),
                         (self.seqs, "error", "Unhandled", "Runtime.ExitError"))
        self.assertIn("signal: killed", first["response"])
        # The record lines the killed invoke wrote (at least after_records; the kill lands while
        # the bootstrap sleeps on the next record, or a little later on a loaded machine).
        second_invoke = [m.start() for m in re.finditer(r"^START RequestId:", logs, re.M)][1]
        done = len(lrtest.record_lines(logs[:second_invoke]))
        self.assertTrue(after_records <= done < len(self.seqs), done)
        return proc, lines, [r["sequenceNumber"] for r in lrtest.record_lines(logs)], done

    def test_a_bootstrap_killed_mid_batch_is_delivered_again(self):
        s = self.seqs
        proc, lines, seen, done = self.crash_run(3, "--max-retries", "1")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.steps(lines), [(s, "error", 0), (s, "ok", 1)])
        self.assertEqual(lines[-1]["summary"], {"deliveries": 2, "recordsDelivered": 8, "discarded": []})
        # The killed invoke got through some records; then every record again, once, in order.
        self.assertEqual(seen, s[:done] + s)

    def test_a_bootstrap_killed_mid_batch_is_bisected_without_using_a_retry(self):
        # --max-retries 0: a re-delivery of the same batch would be over the quota, but the split
        # after the crash is not a retry, so both halves are still delivered.
        s = self.seqs
        proc, lines, seen, done = self.crash_run(4, "--max-retries", "0", "--bisect-on-error")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.steps(lines), [(s, "error", 0), ("split", [s[:4], s[4:]], 0),
                                             (s[:4], "ok", 0), (s[4:], "ok", 0)])
        self.assertEqual(lines[-1]["summary"], {"deliveries": 3, "recordsDelivered": 8, "discarded": []})
        self.assertEqual(seen, s[:done] + s)

    def test_a_workload_arrives_complete_and_in_order(self):
        load = streamload.write(self.ddb, "load", seed=14, operations=2000, keys=30)
        self.assertEqual(streamload.scan_state(self.ddb, "load"), load.expected)
        records = self.stream("load")
        self.assertEqual(len(records), load.moto_records)
        self.assertEqual(streamload.state(streamload.fold(records).values()), load.expected)
        self.assertGreater(load.changes, 1500)
        self.assertTrue(all(load.operations[k] > 300 for k in streamload.KINDS), load.operations)
        env = {"AWS_LAMBDA_LOG_FORMAT": "JSON", "LR_BATCH_MODE": "ordered", "LR_EMF": "off"}
        with lrtest.Emulator(env=env) as emu:
            proc, lines = self.replay("load", emu, "--batch-size", "100", "--bisect-on-error")
            logs = emu.logs()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        deliveries = [x for x in lines if "delivery" in x]
        self.assertTrue(all(d["result"] == "ok" for d in deliveries))
        seqs = [r["dynamodb"]["SequenceNumber"] for r in records]
        self.assertEqual(sum((d["sequenceNumbers"] for d in deliveries), []), seqs)
        self.assertEqual(lines[-1]["summary"], {"deliveries": len(deliveries), "recordsDelivered": len(seqs),
                                                "discarded": []})
        # What the bootstrap logged, applied in order, is the table: every change arrived.
        logged = lrtest.record_lines(logs)
        self.assertEqual([r["sequenceNumber"] for r in logged], seqs)
        final = {}
        for r in logged:
            if r["eventName"] == "REMOVE":
                final.pop(r["keys"]["id"]["S"], None)
            else:
                final[r["keys"]["id"]["S"]] = r["newImage"]
        wire = awstest.load_replay().wire_value
        self.assertEqual(streamload.state(final.values()),
                         streamload.state(wire(load.expected).values()))


class ReplayRules(unittest.TestCase):
    """The replay tool's partial-batch rules and record conversion, without AWS."""

    @classmethod
    def setUpClass(cls):
        cls.r = awstest.load_replay()
        cls.batch = [{"dynamodb": {"SequenceNumber": s}} for s in ("900", "1000", "1001")]

    def check(self, error, body):
        return self.r.checkpoint(error, body, self.batch)

    def test_success_shapes(self):
        for body in (b'{"batchItemFailures":[]}', b'{"batchItemFailures":null}', b"{}", b"null", b""):
            self.assertEqual(self.check(None, body), (None, "ok"), body)

    def test_lowest_reported_sequence_number_is_the_checkpoint(self):
        # 1000 < 1001 < ... and 900 < 1000: numeric order, not text order.
        body = b'{"batchItemFailures":[{"itemIdentifier":"1001"},{"itemIdentifier":"1000"}]}'
        self.assertEqual(self.check(None, body), (1, "partial"))
        body = b'{"batchItemFailures":[{"itemIdentifier":"1000"},{"itemIdentifier":"900"}]}'
        self.assertEqual(self.check(None, body), (0, "partial"))

    def test_whole_batch_failures(self):
        for body in (b'{"batchItemFailures":[{"itemIdentifier":""}]}',
                     b'{"batchItemFailures":[{"itemIdentifier":null}]}',
                     b'{"batchItemFailures":[{"itemIdentifier":"42"}]}',
                     b'{"batchItemFailures":[{"id":"1000"}]}', b"not json", b"[1]",
                     b'{"batchItemFailures":5}', b'{"batchItemFailures":true}',
                     b'{"batchItemFailures":{"itemIdentifier":"1000"}}'):
            self.assertEqual(self.check(None, body), (0, "error"), body)
        self.assertEqual(self.check("Unhandled", b'{"batchItemFailures":[]}'), (0, "error"))

    def test_record_conversion(self):
        import datetime
        rec = {"eventID": "e", "eventName": "INSERT", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
               "awsRegion": "eu-west-1",
               "dynamodb": {"ApproximateCreationDateTime": datetime.datetime(2026, 11, 30, 0, 0, 1, 500000,
                                                                             tzinfo=datetime.timezone.utc),
                            "Keys": {"k": {"B": b"\x00\xff"}}, "NewImage": {"s": {"BS": [b"a"]}},
                            "SequenceNumber": "1", "SizeBytes": 3, "StreamViewType": "NEW_IMAGE"},
               "userIdentity": {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}}
        out = self.r.lambda_record(rec, "arn:stream")
        self.assertEqual(out["dynamodb"]["ApproximateCreationDateTime"], 1795996801.0)
        self.assertEqual(out["dynamodb"]["Keys"], {"k": {"B": "AP8="}})
        self.assertEqual(out["dynamodb"]["NewImage"], {"s": {"BS": ["YQ=="]}})
        self.assertEqual(out["eventSourceARN"], "arn:stream")
        self.assertEqual(out["userIdentity"], {"type": "Service", "principalId": "dynamodb.amazonaws.com"})
        json.dumps(out)  # serialisable as the event

    def test_halves(self):
        self.assertEqual(self.r.halves([1, 2, 3, 4]), ([1, 2], [3, 4]))
        self.assertEqual(self.r.halves([1, 2, 3]), ([1, 2], [3]))
        self.assertEqual(self.r.halves([1, 2]), ([1], [2]))

    def test_batches_respect_size_and_count(self):
        class Args:
            batch_size = 3
        rp = self.r.Replayer(Args(), "http://unused", None)
        small = [{"dynamodb": {"SequenceNumber": str(i)}} for i in range(5)]
        self.assertEqual(len(rp.batches(small)), 3)
        big = [{"dynamodb": {"SequenceNumber": str(i), "pad": "x" * (4 * 1024 * 1024)}} for i in range(2)]
        self.assertEqual(len(rp.batches(big)), 1)  # two 4 MB records exceed the 6 MB event

    def test_a_retry_holds_only_the_failed_batch_from_its_checkpoint(self):
        """The function is a stand-in here (deliver() replaced): what is checked is which records each
        retry carries. Records 1-4, batches of 2, one retry: [1,2] fails at 2, the retry [2] fails at
        2 again and 2 is discarded; 3 was never part of a failed batch, so it is delivered fresh."""
        class Args:
            batch_size, max_retries, bisect_on_error, json = 2, 1, False, True
        rp = self.r.Replayer(Args(), "http://unused", io.StringIO())
        sent = []

        def deliver(shard_id, batch, attempt):
            seqs = [self.r.sequence_number(r) for r in batch]
            sent.append((seqs, attempt))
            return (seqs.index("2"), None) if "2" in seqs else (None, None)
        rp.deliver = deliver
        self.assertFalse(rp.deliver_all("s", [{"dynamodb": {"SequenceNumber": str(i)}} for i in range(1, 5)]))
        self.assertEqual(sent, [(["1", "2"], 0), (["2"], 1), (["3", "4"], 0)])
        self.assertEqual((rp.discarded, rp.delivered_ok), (["2"], 3))

    def test_a_closed_shard_is_read_to_its_end_past_empty_reads(self):
        """GetRecords may answer empty pages before the records of a closed shard (a stand-in for
        the stream here: moto answers no such pages); an open shard stops after --idle-polls."""
        class Streams:
            def __init__(self, end):
                self.pages, self.end = [[], [], [], [{"dynamodb": {"SequenceNumber": "7"}}], []], end

            def get_shard_iterator(self, **kw):
                return {"ShardIterator": "it"}

            def get_records(self, **kw):
                page = self.pages.pop(0)
                return {"Records": page, "NextShardIterator": "it" if self.pages or not self.end else None}
        closed = {"ShardId": "s", "SequenceNumberRange": {"StartingSequenceNumber": "1",
                                                          "EndingSequenceNumber": "9"}}
        reader = self.r.StreamReader(Streams(True), "arn", "TRIM_HORIZON", 10, 2, 0)
        self.assertEqual(list(reader.records(closed)), [[{"dynamodb": {"SequenceNumber": "7"}}]])
        reader = self.r.StreamReader(Streams(False), "arn", "TRIM_HORIZON", 10, 2, 0)
        self.assertEqual(list(reader.records({"ShardId": "s"})), [])


if __name__ == "__main__":
    unittest.main()
