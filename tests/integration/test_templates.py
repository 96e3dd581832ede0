"""cloudformation.yaml and template.yaml: cfn-lint clean (no errors, no warnings), template.yaml
transformed by aws-sam-translator, and the resources as issue 5 specifies them. The Makefile target
that `sam build` runs is test_sam_build's.

cfn-lint runs in this process (cfnlint.api) when it can be imported: one import of its rules and
specifications instead of one per template and parameter set, which on a loaded 2-core machine is
the difference between seconds and many minutes."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import lrtest

try:
    from samtranslator.yaml_helper import yaml_parse
    from samtranslator.translator.transform import transform as sam_transform
except ImportError:  # reported by the tests that need it, with the reason
    yaml_parse = sam_transform = None

SRC = lrtest.source_dir()
CFN = os.path.join(SRC, "cloudformation.yaml")
SAM = os.path.join(SRC, "template.yaml")


def load(path):
    with open(path) as f:
        return yaml_parse(f.read())


def lint_findings(path, parameters=None):
    """cfn-lint's findings for the template at path with the given parameter values (a dict, or a
    list of dicts: parameter sets, each a stack of its own, for which cfn-lint resolves every Ref
    once per set in one run), in its parseable format (path:line:column:endline:endcolumn:rule:
    message), in this process when cfnlint imports, else through the program. None when cfn-lint is
    not installed."""
    sets = parameters if isinstance(parameters, list) else [parameters] if parameters else []
    try:
        from cfnlint.api import ManualArgs, lint
    except ImportError:
        lint = None
    if lint is not None:
        with open(path) as f:
            text = f.read()
        config = ManualArgs(parameters=sets) if sets else ManualArgs()
        return ["%s:%d:%d:%d:%d:%s:%s" % (path, m.linenumber, m.columnnumber, m.linenumberend,
                                          m.columnnumberend, m.rule.id, m.message)
                for m in lint(text, config=config)]
    command = cfn_lint_command()
    if command is None:
        return None
    args = [a for values in sets for a in ["--parameters"] + ["%s=%s" % kv for kv in values.items()]]
    proc = subprocess.run(command + ["--format", "parseable"] + args + ["--", path],
                          capture_output=True, text=True, timeout=300)
    if proc.returncode not in (0, 2, 4, 6):  # 2 errors, 4 warnings
        raise AssertionError("cfn-lint failed: " + proc.stderr)
    return proc.stdout.splitlines()


def cfn_lint_command():
    """cfn-lint next to this interpreter, else on PATH, else through the module; None if absent."""
    beside = os.path.join(os.path.dirname(sys.executable), "cfn-lint")
    exe = beside if os.access(beside, os.X_OK) else shutil.which("cfn-lint")
    if exe:
        return [exe]
    try:
        import cfnlint.runner  # noqa: F401
    except ImportError:
        return None
    return [sys.executable, "-c", "import sys; from cfnlint.runner import main; sys.exit(main())"]


def resources_named(value):
    """Every Resource value of a policy statement, as a list."""
    return value if isinstance(value, list) else [value]


def sub_text(value):
    """The template string of a !Sub (plain or [string, vars])."""
    sub = value["Fn::Sub"]
    return sub[0] if isinstance(sub, list) else sub


NO_VALUE = object()

# The pseudo parameters a Stack fills into a Fn::Sub (an account and region of the tests' choice).
PSEUDO = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"}


class Stack:
    """A template's values as CloudFormation resolves them for one set of parameter values: the
    Conditions evaluated, Fn::If taken, parameter Refs replaced, Fn::Select and Fn::Split of known
    values computed (an index out of range raises IndexError, as CloudFormation fails the stack),
    a Fn::Sub made only of parameters, pseudo parameters (PSEUDO) and its own variables filled in,
    and AWS::NoValue removed from objects and from lists. Other intrinsics (resource Refs, GetAtt,
    a Sub naming a resource) are left as written.

    Neither cfn-lint nor moto evaluates a template's Rules; broken_rules() does, the way
    CloudFormation does before it creates or updates a stack."""

    def __init__(self, template, **values):
        self.values = {k: p.get("Default") for k, p in template["Parameters"].items()}
        self.values.update(values)
        self.conditions = template.get("Conditions", {})
        self.rules = template.get("Rules", {})
        self.resources = template["Resources"]

    def holds(self, expr):
        (fn, arg), = expr.items()
        if fn == "Fn::Equals":
            return self.resolve(arg[0]) == self.resolve(arg[1])
        if fn == "Fn::Not":
            return not self.holds(arg[0])
        if fn == "Fn::And":
            return all(self.holds(x) for x in arg)
        if fn == "Fn::Or":
            return any(self.holds(x) for x in arg)
        if fn == "Fn::Contains":  # parameter values are strings to the Rules
            return str(self.resolve(arg[1])) in [str(v) for v in self.resolve(arg[0])]
        if fn == "Condition":
            return self.holds(self.conditions[arg])
        raise ValueError("condition function not handled here: %s" % fn)

    def broken_rules(self):
        """The AssertDescription of every Rules assertion these parameter values fail."""
        out = []
        for rule in self.rules.values():
            if "RuleCondition" in rule and not self.holds(rule["RuleCondition"]):
                continue
            out += [a["AssertDescription"] for a in rule["Assertions"] if not self.holds(a["Assert"])]
        return out

    def created(self):
        """Logical ids of the resources created with these values (Condition holds or absent)."""
        return sorted(k for k, r in self.resources.items()
                      if "Condition" not in r or self.holds(self.conditions[r["Condition"]]))

    def sub(self, text, variables=None):
        """A Fn::Sub filled in where every name is known: a parameter, a pseudo parameter or one of
        variables (the second element of the [text, variables] form, already resolved)."""
        names = re.findall(r"\$\{([^}!]+)\}", text)
        known = dict(PSEUDO, **{k: v for k, v in self.values.items() if isinstance(v, str)})
        known.update({k: v for k, v in (variables or {}).items() if isinstance(v, str)})
        if not all(n in known for n in names):
            return {"Fn::Sub": [text, variables] if variables else text}
        return re.sub(r"\$\{([^}!]+)\}", lambda m: known[m.group(1)], text)

    def resolve(self, node):
        if isinstance(node, list):
            return [v for v in map(self.resolve, node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if node == {"Ref": "AWS::NoValue"}:
            return NO_VALUE
        if list(node) == ["Ref"] and node["Ref"] in self.values:
            return self.values[node["Ref"]]
        if list(node) == ["Fn::If"]:
            name, yes, no = node["Fn::If"]
            return self.resolve(yes if self.holds(self.conditions[name]) else no)
        if list(node) == ["Fn::Split"] and isinstance(self.resolve(node["Fn::Split"][1]), str):
            return self.resolve(node["Fn::Split"][1]).split(node["Fn::Split"][0])
        if list(node) == ["Fn::Select"] and isinstance(self.resolve(node["Fn::Select"][1]), list):
            return self.resolve(node["Fn::Select"][1])[int(node["Fn::Select"][0])]
        if list(node) == ["Fn::Sub"] and isinstance(node["Fn::Sub"], str):
            return self.sub(node["Fn::Sub"])
        if list(node) == ["Fn::Sub"]:
            text, variables = node["Fn::Sub"]
            return self.sub(text, {k: self.resolve(v) for k, v in variables.items()})
        out = {k: self.resolve(v) for k, v in node.items()}
        return {k: v for k, v in out.items() if v is not NO_VALUE}


def grants(role_properties):
    """{action: [resources]} of a role's single inline policy; pass the role resolved (Stack)."""
    out = {}
    for s in role_properties["Policies"][0]["PolicyDocument"]["Statement"]:
        assert s["Effect"] == "Allow", s
        for a in resources_named(s["Action"]):
            out[a] = resources_named(s["Resource"])
    return out


XRAY_WRITE = {"xray:PutTraceSegments": ["*"], "xray:PutTelemetryRecords": ["*"]}


class TracingChecks:
    """The Tracing parameter of either template, over every value it allows. The class sets
    template (for SAM: the translated output), function and role (logical ids), and
    mode_when_none: what TracingConfig resolves to for Tracing=none."""

    def resolved(self, name, tracing):
        return Stack(self.template, Tracing=tracing).resolve(self.template["Resources"][name]["Properties"])

    def test_tumbling_window_parameter(self):
        p = self.template["Parameters"]["TumblingWindowInSeconds"]
        self.assertEqual((p["Default"], p["MinValue"], p["MaxValue"]), (0, 0, 900))
        for seconds, want in (("0", None), ("60", "60"), ("900", "900")):  # values arrive as text
            t, stack = self.variant(TumblingWindowInSeconds=seconds)
            [esm] = [r for r in t["Resources"].values() if r["Type"] == "AWS::Lambda::EventSourceMapping"]
            # the stack's value goes through Fn::If; 0 leaves the property out (the mapping as before)
            self.assertEqual(stack.resolve(esm["Properties"]).get("TumblingWindowInSeconds"), want, seconds)

    def test_tracing_parameter(self):
        p = self.template["Parameters"]["Tracing"]
        self.assertEqual((p["Default"], p["AllowedValues"]), ("none", ["none", "Active", "PassThrough"]))

    def test_tracing_config_follows_the_parameter(self):
        for tracing, want in (("none", self.mode_when_none), ("Active", {"Mode": "Active"}),
                              ("PassThrough", {"Mode": "PassThrough"})):
            fn = self.resolved(self.function, tracing)
            self.assertEqual(fn.get("TracingConfig", "absent"), want, tracing)

    def test_xray_permissions_only_with_active_tracing(self):
        base = grants(self.resolved(self.role, "none"))
        self.assertFalse([a for a in base if a.startswith("xray:")], base)
        self.assertEqual(grants(self.resolved(self.role, "PassThrough")), base)
        active = grants(self.resolved(self.role, "Active"))
        # X-Ray has no resource-level permissions for these two; they are the only "*".
        self.assertEqual(active, dict(base, **XRAY_WRITE))
        for a, resources in base.items():
            self.assertNotIn("*", resources, a)


TODAYS_ENV = ["LR_ALL_FAILED", "LR_BATCH_MODE", "LR_EMF", "LR_EMF_NAMESPACE", "LR_LOG_RECORDS"]
TODAYS_GRANTS = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
                 "dynamodb:ListStreams", "logs:CreateLogStream", "logs:PutLogEvents", "sqs:SendMessage"]
ORDERS_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/Orders"  # PSEUDO's account and region
OTHER_REGION_ARN = "arn:aws:dynamodb:eu-west-1:210987654321:table/Orders-replica"
QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/210987654321/changes"
QUEUE_ARN = "arn:aws:sqs:eu-west-1:210987654321:changes"
FIFO_QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/changes_v-2.fifo"
FIFO_QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:changes_v-2.fifo"
TOPIC_ARN = "arn:aws:sns:eu-west-1:210987654321:changes"
FIFO_TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:changes.fifo"
BUS_ARN = "arn:aws:events:eu-west-1:210987654321:event-bus/changes.v2"
# The one action each sink calls (the batch call it makes is authorised by it).
SINK_ACTIONS = {"dynamodb": "dynamodb:BatchWriteItem", "sqs": "sqs:SendMessage", "sns": "sns:Publish",
                "eventbridge": "events:PutEvents"}
# The Rules' texts, whitespace folded.
NEED_ONE = ("Sink=dynamodb, sqs, sns or eventbridge needs either SinkTarget (a table, queue URL, "
            "topic ARN or event bus) or CreateSinkTarget=true, not both.")
LOG_ONLY = "SinkTarget and CreateSinkTarget=true apply only to Sink=dynamodb, sqs, sns or eventbridge."
FIFO_ONLY = ("SinkFifo=true applies only with CreateSinkTarget=true and Sink=sqs or sns (a given "
             "SinkTarget is FIFO when its name ends in .fifo).")
RECORD_AGE = "MaximumRecordAgeInSeconds is -1 (no limit) or 60 to 604800: Lambda refuses 0 to 59."


class SinkChecks:
    """Sink, SinkTarget, CreateSinkTarget and SinkFifo of either template: the default stack is the
    stack as it was; each other sink adds exactly one statement, its one action on exactly its
    target, LR_SINK and LR_SINK_TARGET, and the oSinkTarget output; CreateSinkTarget=true adds
    exactly the target resource (the replica with the source's key schema; an encrypted queue or
    topic, FIFO with SinkFifo=true; an event bus); the Rules refuse an ambiguous or missing target
    and a SinkFifo with nothing FIFO to create. The class sets template, table, function and role
    (logical ids), created_targets ({sink: logical id of the target CreateSinkTarget=true makes}),
    failure_queue, sink_sids ({sink: the statement's Sid}, None in SAM) and
    variant(**values) -> (template, Stack) of a stack with those values."""

    def env(self, values):
        t, stack = self.variant(**values)
        return stack.resolve(t["Resources"][self.function]["Properties"])["Environment"]["Variables"]

    def statements(self, values):
        t, stack = self.variant(**values)
        role = stack.resolve(t["Resources"][self.role]["Properties"])
        return role["Policies"][0]["PolicyDocument"]["Statement"]

    def sink_statements(self, values):
        """The statements these values add to those of the same stack with Sink=log."""
        base = self.statements({k: v for k, v in values.items() if k == "Tracing"})
        got = self.statements(values)
        self.assertEqual(got[:len(base)], base)  # the sink's statement comes last, the rest unchanged
        return got[len(base):]

    def properties(self, name, values):
        t, stack = self.variant(**values)
        return stack.resolve(t["Resources"][name]["Properties"])

    def test_sink_parameters(self):
        p = self.template["Parameters"]
        self.assertEqual((p["Sink"]["Default"], p["Sink"]["AllowedValues"]),
                         ("log", ["log", "dynamodb", "sqs", "sns", "eventbridge"]))
        self.assertEqual(p["SinkTarget"]["Default"], "")
        self.assertEqual((p["CreateSinkTarget"]["Default"], p["CreateSinkTarget"]["AllowedValues"]),
                         ("false", ["true", "false"]))
        self.assertEqual((p["SinkFifo"]["Default"], p["SinkFifo"]["AllowedValues"]), ("false", ["false", "true"]))

    def test_sink_target_pattern_takes_each_sinks_form(self):
        # CloudFormation matches AllowedPattern against the whole value (Java regex; this one means
        # the same in Python's re).
        pattern = self.template["Parameters"]["SinkTarget"]["AllowedPattern"]
        for ok in ("", "Orders", "my_table.v-2", "abc", "x" * 255, ORDERS_ARN, OTHER_REGION_ARN,
                   "arn:aws-cn:dynamodb:cn-north-1:123456789012:table/T_1",
                   QUEUE_URL, FIFO_QUEUE_URL, "https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q",
                   "https://sqs.us-east-1.amazonaws.com/123456789012/" + "q" * 80,
                   "https://sqs.us-east-1.amazonaws.com/123456789012/" + "q" * 75 + ".fifo",
                   TOPIC_ARN, FIFO_TOPIC_ARN, "arn:aws-us-gov:sns:us-gov-west-1:123456789012:" + "t" * 256,
                   "default", BUS_ARN, "arn:aws:events:us-east-1:123456789012:event-bus/default"):
            self.assertTrue(re.fullmatch(pattern, ok), ok)
        for bad in ("ab", "x" * 256, "my table", "a:b", ORDERS_ARN + "/stream/2026-01-01T00:00:00.000",
                    "arn:aws:sqs:us-east-1:123456789012:Orders", "arn:aws:dynamodb:us-east-1:1234:table/Orders",
                    # queue URLs: not https, not SQS's host, a short account, a path too deep or
                    # empty, a name too long or with a dot that is no .fifo suffix
                    "http://sqs.us-east-1.amazonaws.com/123456789012/q",
                    "https://example.com/123456789012/q", "https://sqs.us-east-1.amazonaws.com/1234/q",
                    "https://sqs.us-east-1.amazonaws.com/123456789012/q/x",
                    "https://sqs.us-east-1.amazonaws.com/123456789012/",
                    "https://sqs.us-east-1.amazonaws.com/123456789012/" + "q" * 81,
                    "https://sqs.us-east-1.amazonaws.com/123456789012/" + "q" * 76 + ".fifo",
                    "https://sqs.us-east-1.amazonaws.com/123456789012/q.v2",
                    QUEUE_URL + " ", " " + QUEUE_URL,
                    # topic ARNs: no name, a dot that is no .fifo suffix, a subscription ARN
                    "arn:aws:sns:us-east-1:123456789012:", "arn:aws:sns:us-east-1:123456789012:a.b",
                    TOPIC_ARN + ":5f1d3c2e-0000-4000-8000-000000000000",
                    "arn:aws:sns:us-east-1:123456789012:" + "t" * 257,
                    # event bus ARNs: a rule, no name, a partner bus; a bus in a bare name with '/'
                    "arn:aws:events:us-east-1:123456789012:rule/changes",
                    "arn:aws:events:us-east-1:123456789012:event-bus/",
                    "arn:aws:events:us-east-1:123456789012:event-bus/aws.partner/x", "aws.partner/x"):
            self.assertFalse(re.fullmatch(pattern, bad), bad)

    def test_default_stack_is_todays_stack(self):
        t, stack = self.variant()
        self.assertEqual(stack.created(),
                         sorted(k for k in t["Resources"] if k not in self.created_targets.values()))
        self.assertEqual(sorted(self.env({})), TODAYS_ENV)
        self.assertEqual(sorted(grants(stack.resolve(t["Resources"][self.role]["Properties"]))), TODAYS_GRANTS)
        self.assertEqual(len(self.statements({})), 4)
        self.assertEqual(t["Outputs"]["oSinkTarget"]["Condition"], "HasSink")
        self.assertFalse(stack.holds({"Condition": "HasSink"}))
        self.assertEqual(stack.broken_rules(), [])

    def check_sink(self, values, target, resource):
        """One sink's stack: the environment, the one statement, the output and the Rules; returns
        the Stack."""
        sink = values["Sink"]
        t, stack = self.variant(**values)
        env = self.env(values)
        self.assertEqual(sorted(env), sorted(TODAYS_ENV + ["LR_SINK", "LR_SINK_TARGET"]))
        self.assertEqual((env["LR_SINK"], env["LR_SINK_TARGET"]), (sink, target))
        want = {"Effect": "Allow", "Action": [SINK_ACTIONS[sink]], "Resource": resource}
        if self.sink_sids:
            want["Sid"] = self.sink_sids[sink]
        self.assertEqual(self.sink_statements(values), [want])
        # No KMS: a created queue uses SSE-SQS, a created topic the AWS managed key.
        self.assertFalse([a for s in self.statements(values) for a in resources_named(s["Action"])
                          if a.startswith("kms:")])
        self.assertEqual(stack.resolve(t["Outputs"]["oSinkTarget"]["Value"]), target)
        self.assertTrue(stack.holds({"Condition": t["Outputs"]["oSinkTarget"]["Condition"]}))
        self.assertEqual(stack.broken_rules(), [])
        created = values.get("CreateSinkTarget") == "true"
        extra = [self.created_targets[sink]] if created else []
        self.assertEqual(stack.created(), sorted(self.variant()[1].created() + extra))
        return stack

    # -- dynamodb

    def test_dynamodb_sink_into_a_table_named(self):
        self.check_sink({"Sink": "dynamodb", "SinkTarget": "Orders"}, "Orders", ORDERS_ARN)

    def test_dynamodb_sink_into_a_table_by_arn_in_another_region(self):
        self.check_sink({"Sink": "dynamodb", "SinkTarget": OTHER_REGION_ARN}, OTHER_REGION_ARN,
                        OTHER_REGION_ARN)

    def test_dynamodb_sink_into_a_replica_the_stack_creates(self):
        replica = self.created_targets["dynamodb"]
        self.check_sink({"Sink": "dynamodb", "CreateSinkTarget": "true"}, {"Ref": replica},
                        {"Fn::GetAtt": [replica, "Arn"]})

    def test_replica_has_the_source_tables_key_schema_and_billing(self):
        replica_id = self.created_targets["dynamodb"]
        for billing in ("PAY_PER_REQUEST", "PROVISIONED"):
            t, stack = self.variant(Sink="dynamodb", CreateSinkTarget="true", TableBillingMode=billing)
            source = stack.resolve(t["Resources"][self.table]["Properties"])
            replica = stack.resolve(t["Resources"][replica_id]["Properties"])
            self.assertEqual(t["Resources"][replica_id]["Type"], "AWS::DynamoDB::Table")
            self.assertEqual(replica, {k: v for k, v in source.items() if k != "StreamSpecification"})
            self.assertEqual(replica["KeySchema"], [{"AttributeName": "id", "KeyType": "HASH"}])
            self.assertEqual(replica["BillingMode"], billing)

    # -- sqs

    def test_sqs_sink_into_a_queue_given_by_url(self):
        # The statement's ARN is built from the URL's parts: region from the host, then account, name.
        self.check_sink({"Sink": "sqs", "SinkTarget": QUEUE_URL}, QUEUE_URL, QUEUE_ARN)
        self.check_sink({"Sink": "sqs", "SinkTarget": FIFO_QUEUE_URL}, FIFO_QUEUE_URL, FIFO_QUEUE_ARN)
        china = "https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q"
        self.check_sink({"Sink": "sqs", "SinkTarget": china}, china, "arn:aws:sqs:cn-north-1:123456789012:q")

    def test_sqs_sink_into_a_queue_the_stack_creates(self):
        queue = self.created_targets["sqs"]
        self.check_sink({"Sink": "sqs", "CreateSinkTarget": "true"}, {"Ref": queue},
                        {"Fn::GetAtt": [queue, "Arn"]})
        self.assertEqual(self.template["Resources"][queue]["Type"], "AWS::SQS::Queue")
        # Standard: no name (CloudFormation makes one), no FIFO properties; encrypted with SSE-SQS
        # like the failure queue, and kept as long.
        props = self.properties(queue, {"Sink": "sqs", "CreateSinkTarget": "true"})
        self.assertEqual(props, {"SqsManagedSseEnabled": True, "MessageRetentionPeriod": 1209600})
        failure = self.properties(self.failure_queue, {})
        self.assertEqual({k: failure[k] for k in props}, props)
        self.assertNotIn("KmsMasterKeyId", failure)

    def test_sqs_sink_into_a_fifo_queue_the_stack_creates(self):
        queue = self.created_targets["sqs"]
        values = {"Sink": "sqs", "CreateSinkTarget": "true", "SinkFifo": "true"}
        self.check_sink(values, {"Ref": queue}, {"Fn::GetAtt": [queue, "Arn"]})
        # The sink sets MessageDeduplicationId, so no content-based deduplication.
        self.assertEqual(self.properties(queue, values), {
            "QueueName": {"Fn::Sub": "${AWS::StackName}-sink.fifo"}, "FifoQueue": True,
            "ContentBasedDeduplication": False, "SqsManagedSseEnabled": True, "MessageRetentionPeriod": 1209600})

    # -- sns

    def test_sns_sink_into_a_topic_given_by_arn(self):
        self.check_sink({"Sink": "sns", "SinkTarget": TOPIC_ARN}, TOPIC_ARN, TOPIC_ARN)
        self.check_sink({"Sink": "sns", "SinkTarget": FIFO_TOPIC_ARN}, FIFO_TOPIC_ARN, FIFO_TOPIC_ARN)

    def test_sns_sink_into_a_topic_the_stack_creates(self):
        topic = self.created_targets["sns"]
        values = {"Sink": "sns", "CreateSinkTarget": "true"}
        self.check_sink(values, {"Ref": topic}, {"Ref": topic})  # a topic's Ref is its ARN
        self.assertEqual(self.template["Resources"][topic]["Type"], "AWS::SNS::Topic")
        # The AWS managed key: the publisher needs no kms: grant (check_sink asserts there is none).
        self.assertEqual(self.properties(topic, values), {"KmsMasterKeyId": "alias/aws/sns"})

    def test_sns_sink_into_a_fifo_topic_the_stack_creates(self):
        topic = self.created_targets["sns"]
        values = {"Sink": "sns", "CreateSinkTarget": "true", "SinkFifo": "true"}
        self.check_sink(values, {"Ref": topic}, {"Ref": topic})
        self.assertEqual(self.properties(topic, values), {
            "TopicName": {"Fn::Sub": "${AWS::StackName}-sink.fifo"}, "FifoTopic": True,
            "ContentBasedDeduplication": False, "KmsMasterKeyId": "alias/aws/sns"})

    # -- eventbridge

    def test_eventbridge_sink_onto_a_bus_named(self):
        self.check_sink({"Sink": "eventbridge", "SinkTarget": "changes"}, "changes",
                        "arn:aws:events:us-east-1:123456789012:event-bus/changes")
        self.check_sink({"Sink": "eventbridge", "SinkTarget": "default"}, "default",
                        "arn:aws:events:us-east-1:123456789012:event-bus/default")

    def test_eventbridge_sink_onto_a_bus_given_by_arn(self):
        self.check_sink({"Sink": "eventbridge", "SinkTarget": BUS_ARN}, BUS_ARN, BUS_ARN)

    def test_eventbridge_sink_onto_a_bus_the_stack_creates(self):
        bus = self.created_targets["eventbridge"]
        values = {"Sink": "eventbridge", "CreateSinkTarget": "true"}
        # The bus's name (what its Ref gives on AWS; moto's Ref of a bus is not its name).
        self.check_sink(values, {"Fn::GetAtt": [bus, "Name"]}, {"Fn::GetAtt": [bus, "Arn"]})
        self.assertEqual(self.template["Resources"][bus]["Type"], "AWS::Events::EventBus")
        self.assertEqual(self.properties(bus, values), {"Name": {"Fn::Sub": "${AWS::StackName}-sink"}})

    # -- across the sinks

    def test_each_created_target_goes_with_the_stack(self):
        for sink, logical in self.created_targets.items():
            r = self.template["Resources"][logical]
            self.assertEqual((r["DeletionPolicy"], r["UpdateReplacePolicy"]), ("Delete", "Delete"), sink)

    def test_a_name_given_to_the_sqs_or_sns_sink_fails_the_stack_at_the_role(self):
        # Neither AllowedPattern (one pattern for every sink) nor the Rules (no string functions)
        # can tie the target's form to the sink. A name has no parts to build the queue's or topic's
        # ARN from: Fn::Select is out of range and CloudFormation fails the stack before the
        # function exists.
        for sink in ("sqs", "sns"):
            with self.assertRaises(IndexError, msg=sink):
                self.statements({"Sink": sink, "SinkTarget": "Orders"})

    def test_with_active_tracing_both_optional_statements_are_there(self):
        for values, action, resource in (
                ({"Sink": "dynamodb", "SinkTarget": "Orders"}, "dynamodb:BatchWriteItem", ORDERS_ARN),
                ({"Sink": "sns", "SinkTarget": TOPIC_ARN}, "sns:Publish", TOPIC_ARN)):
            t, stack = self.variant(Tracing="Active", **values)
            role = grants(stack.resolve(t["Resources"][self.role]["Properties"]))
            self.assertEqual(role[action], [resource])
            self.assertEqual({a: role[a] for a in XRAY_WRITE}, XRAY_WRITE)
            self.assertEqual(len(self.sink_statements(dict(values, Tracing="Active"))), 1)

    def test_rules_want_exactly_one_target_for_each_sink_and_fifo_only_when_created(self):
        targets = {"dynamodb": "Orders", "sqs": QUEUE_URL, "sns": TOPIC_ARN, "eventbridge": "changes"}
        cases = [({}, []), ({"SinkTarget": "Orders"}, [LOG_ONLY]), ({"CreateSinkTarget": "true"}, [LOG_ONLY]),
                 ({"SinkFifo": "true"}, [FIFO_ONLY]),
                 ({"SinkTarget": "Orders", "SinkFifo": "true"}, [LOG_ONLY, FIFO_ONLY])]
        for sink, target in targets.items():
            fifo_ok = sink in ("sqs", "sns")
            cases += [
                ({"Sink": sink, "SinkTarget": target}, []),
                ({"Sink": sink, "CreateSinkTarget": "true"}, []),
                ({"Sink": sink}, [NEED_ONE]),
                ({"Sink": sink, "SinkTarget": target, "CreateSinkTarget": "true"}, [NEED_ONE]),
                ({"Sink": sink, "CreateSinkTarget": "true", "SinkFifo": "true"}, [] if fifo_ok else [FIFO_ONLY]),
                ({"Sink": sink, "SinkTarget": target, "SinkFifo": "true"}, [FIFO_ONLY]),
                ({"Sink": sink, "SinkFifo": "true"}, [NEED_ONE, FIFO_ONLY])]
        for values, broken in cases:
            self.assertEqual([" ".join(x.split()) for x in self.variant(**values)[1].broken_rules()],
                             broken, values)

    def test_rules_refuse_a_record_age_lambda_refuses(self):
        for age, broken in (("-1", []), ("0", [RECORD_AGE]), ("59", [RECORD_AGE]), ("60", []),
                            ("3600", []), ("604800", [])):
            self.assertEqual([" ".join(x.split()) for x in
                              self.variant(MaximumRecordAgeInSeconds=age)[1].broken_rules()], broken, age)


@unittest.skipIf(cfn_lint_command() is None, "cfn-lint is not installed")
class CfnLint(unittest.TestCase):
    def test_cloudformation_yaml_has_no_errors_or_warnings(self):
        self.assertEqual(lint_findings(CFN), [])

    def test_template_yaml_has_no_errors_or_warnings(self):
        self.assertEqual(lint_findings(SAM), [])

    def findings(self, path, *parameters):
        return lint_findings(path, dict(p.split("=", 1) for p in parameters))

    def findings_of_sets(self, path, sets):
        """One lint of path with a parameter set per element of sets (each a list of KEY=VALUE)."""
        return lint_findings(path, [dict(p.split("=", 1) for p in values) for values in sets])

    def lint_sets(self, sets):
        """Both templates with every set; cloudformation.yaml's sets also name the code bucket."""
        self.assertEqual(self.findings_of_sets(CFN, [["CodeS3Bucket=example-bucket", *v] for v in sets]), [])
        self.assertEqual(self.findings_of_sets(SAM, sets), [])

    def test_w1030_ignore_is_still_needed_and_hides_nothing_else(self):
        # provided.al2 is no longer the default but stays allowed, and cfn-lint checks every
        # allowed value: without the ignore, that is its one finding.
        for path in (CFN, SAM):
            with open(path) as f:
                text = f.read()
            self.assertEqual(text.count("ignore_checks: [W1030]"), 1, path)
            with tempfile.TemporaryDirectory() as tmp:
                bare = os.path.join(tmp, os.path.basename(path))
                with open(bare, "w") as f:
                    f.write(text.replace("ignore_checks: [W1030]", "ignore_checks: []"))
                found = self.findings(bare)
            self.assertEqual(len(found), 1, found)
            self.assertRegex(found[0], r":W1030:Runtime \{'Ref': 'Runtime'\}")

    def test_stacks_with_each_runtime_and_the_new_options_lint_clean(self):
        pattern = 'FilterPattern={"eventName":["INSERT","MODIFY"]}'
        self.lint_sets([["Runtime=provided.al2", "Tracing=Active", pattern],
                        ["Runtime=provided.al2023", "Tracing=PassThrough"],
                        ["Runtime=provided.al2", "Tracing=none"],
                        ["Sink=dynamodb", "SinkTarget=Orders"],
                        ["Sink=dynamodb", "SinkTarget=" + OTHER_REGION_ARN, "Tracing=Active"],
                        ["Sink=dynamodb", "CreateSinkTarget=true", "TableBillingMode=PROVISIONED"],
                        ["TumblingWindowInSeconds=900"]])

    def test_stacks_with_each_message_sink_lint_clean(self):
        self.lint_sets([["Sink=sqs", "SinkTarget=" + QUEUE_URL],
                        ["Sink=sqs", "SinkTarget=" + FIFO_QUEUE_URL, "Tracing=Active"],
                        ["Sink=sqs", "CreateSinkTarget=true"],
                        ["Sink=sqs", "CreateSinkTarget=true", "SinkFifo=true"],
                        ["Sink=sns", "SinkTarget=" + TOPIC_ARN],
                        ["Sink=sns", "CreateSinkTarget=true"],
                        ["Sink=sns", "CreateSinkTarget=true", "SinkFifo=true"],
                        ["Sink=eventbridge", "SinkTarget=changes"],
                        ["Sink=eventbridge", "SinkTarget=" + BUS_ARN],
                        ["Sink=eventbridge", "CreateSinkTarget=true"]])

    def test_lint_checks_the_values_it_is_given_in_every_set(self):
        # Guards the two tests above: cfn-lint does check the values it is given, in a set that is
        # not the first one too (a set that is not checked would pass unseen).
        found = self.findings(CFN, "CodeS3Bucket=example-bucket", "Tracing=Disabled")
        self.assertTrue(found and all(":E2900:" in x for x in found), found)
        found = self.findings_of_sets(CFN, [["CodeS3Bucket=example-bucket", "Sink=sqs", "SinkTarget=" + QUEUE_URL],
                                            ["CodeS3Bucket=example-bucket", "Tracing=Disabled"],
                                            ["CodeS3Bucket=example-bucket", "Tracing=none"]])
        self.assertTrue(found and all(":E2900:" in x and "'Disabled'" in x for x in found), found)

    def test_lint_really_reports_problems(self):
        # Guards the tests above: a template with a known error must be reported, in this process
        # and by the program alike.
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write("Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n"
                    "      SqsManagedSseEnabled: maybe\n")
        try:
            self.assertTrue(any(":E" in x for x in lint_findings(f.name)))
            proc = subprocess.run(cfn_lint_command() + ["--format", "parseable", "--", f.name],
                                  capture_output=True, text=True, timeout=300)
        finally:
            os.unlink(f.name)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn(":E", proc.stdout)

    def test_every_ignored_check_is_named_and_justified(self):
        for path in (CFN, SAM):
            lines = open(path).read().splitlines()
            for i, line in enumerate(lines):
                if "ignore_checks" not in line:
                    continue
                ids = re.findall(r"[EWI]\d{4}", line)
                self.assertTrue(ids, "%s:%d: ignore_checks must name rule ids" % (path, i + 1))
                above = "\n".join(lines[max(0, i - 4):i])
                for rule in ids:
                    self.assertRegex(above, r"#.*%s.*\S" % rule,
                                     "%s:%d: %s ignored without a comment saying why"
                                     % (path, i + 1, rule))


@unittest.skipIf(yaml_parse is None, "aws-sam-translator is not installed")
class CloudFormationTemplate(TracingChecks, SinkChecks, unittest.TestCase):
    function, role, mode_when_none = "rLoggingFunction", "rLambdaRole", "absent"
    table, failure_queue = "rDynamoDBTable", "rFailureQueue"
    created_targets = {"dynamodb": "rReplicaTable", "sqs": "rSinkQueue", "sns": "rSinkTopic",
                       "eventbridge": "rSinkBus"}
    sink_sids = {"dynamodb": "ReplicateIntoTheSinkTable", "sqs": "SendToTheSinkQueue",
                 "sns": "PublishToTheSinkTopic", "eventbridge": "PutEventsOnTheSinkBus"}

    def variant(self, **values):
        return self.template, Stack(self.template, **values)

    @classmethod
    def setUpClass(cls):
        cls.t = cls.template = load(CFN)
        cls.res = cls.t["Resources"]

    def props(self, name):
        return self.res[name]["Properties"]

    def test_article_logical_ids_and_output_keys(self):
        for name, kind in [("rLoggingFunction", "AWS::Lambda::Function"),
                           ("rDynamoDBTable", "AWS::DynamoDB::Table"),
                           ("rDynamoDBTableStream", "AWS::Lambda::EventSourceMapping"),
                           ("rLambdaRole", "AWS::IAM::Role"),
                           ("rLambdaFunctionLogGroup", "AWS::Logs::LogGroup")]:
            self.assertEqual(self.res[name]["Type"], kind)
        self.assertEqual(self.t["Outputs"]["rLoggingFunctionName"]["Value"], {"Ref": "rLoggingFunction"})
        self.assertEqual(self.t["Outputs"]["oDynamoDBTableName"]["Value"], {"Ref": "rDynamoDBTable"})

    def test_runtime_and_architecture_parameters(self):
        p = self.t["Parameters"]
        self.assertEqual(p["Runtime"]["Default"], "provided.al2023")
        self.assertEqual(p["Runtime"]["AllowedValues"], ["provided.al2023", "provided.al2"])
        self.assertIn("2026-07-31", p["Runtime"]["Description"])
        self.assertIn("2027-02-01", p["Runtime"]["Description"])
        self.assertEqual(p["Architectures"]["AllowedValues"], ["x86_64", "arm64"])
        fn = self.props("rLoggingFunction")
        self.assertEqual(fn["Runtime"], {"Ref": "Runtime"})
        self.assertEqual(fn["Architectures"], [{"Ref": "Architectures"}])
        self.assertEqual(fn["Code"], {"S3Bucket": {"Ref": "CodeS3Bucket"}, "S3Key": {"Ref": "CodeS3Key"}})

    def test_handler_settings_environment(self):
        env = self.props("rLoggingFunction")["Environment"]["Variables"]
        self.assertEqual(env["LR_BATCH_MODE"], {"Ref": "BatchMode"})
        self.assertEqual(env["LR_ALL_FAILED"], {"Ref": "AllFailed"})
        self.assertEqual(env["LR_LOG_RECORDS"], {"Ref": "LogRecords"})
        self.assertEqual(env["LR_EMF"], {"Ref": "Emf"})
        self.assertEqual(env["LR_EMF_NAMESPACE"], {"Ref": "EmfNamespace"})
        self.assertEqual(self.t["Parameters"]["EmfNamespace"]["Default"], "DynamoDBStreamsLambda")

    def test_logging_config_points_at_the_stacks_log_group(self):
        lc = self.props("rLoggingFunction")["LoggingConfig"]
        self.assertEqual(lc["LogGroup"], {"Ref": "rLambdaFunctionLogGroup"})
        self.assertEqual(lc["LogFormat"], {"Ref": "LogFormat"})
        self.assertEqual(self.t["Parameters"]["LogFormat"]["AllowedValues"], ["Text", "JSON"])
        lg = self.props("rLambdaFunctionLogGroup")
        self.assertEqual(lg["RetentionInDays"], {"Ref": "LogRetentionInDays"})
        self.assertEqual(self.t["Parameters"]["LogRetentionInDays"]["Default"], 14)
        # A name that does not reference the function (the article's !Ref made a cycle with the role).
        self.assertEqual(lg["LogGroupName"], {"Fn::Sub": "/aws/lambda/${AWS::StackName}-rLoggingFunction"})

    def test_mapping_settings(self):
        esm = self.props("rDynamoDBTableStream")
        self.assertEqual(esm["FunctionResponseTypes"], ["ReportBatchItemFailures"])
        self.assertEqual(esm["EventSourceArn"], {"Fn::GetAtt": ["rDynamoDBTable", "StreamArn"]})
        self.assertEqual(esm["DestinationConfig"],
                         {"OnFailure": {"Destination": {"Fn::GetAtt": ["rFailureQueue", "Arn"]}}})
        for key in ("BatchSize", "MaximumBatchingWindowInSeconds", "StartingPosition",
                    "BisectBatchOnFunctionError", "MaximumRetryAttempts",
                    "MaximumRecordAgeInSeconds", "ParallelizationFactor"):
            self.assertEqual(esm[key], {"Ref": key})
        p = self.t["Parameters"]
        # The article's values: BatchSize 100, window 300 s, LATEST.
        self.assertEqual((p["BatchSize"]["Default"], p["MaximumBatchingWindowInSeconds"]["Default"],
                          p["StartingPosition"]["Default"]), (100, 300, "LATEST"))
        self.assertEqual(esm["FilterCriteria"]["Fn::If"][0], "HasFilter")
        self.assertEqual(esm["FilterCriteria"]["Fn::If"][1], {"Filters": [{"Pattern": {"Ref": "FilterPattern"}}]})
        self.assertEqual(esm["MetricsConfig"], {"Metrics": ["EventCount"]})

    def test_table_stream_and_billing_mode(self):
        t = self.props("rDynamoDBTable")
        self.assertEqual(t["StreamSpecification"], {"StreamViewType": "NEW_AND_OLD_IMAGES"})
        self.assertEqual(t["BillingMode"], {"Ref": "TableBillingMode"})
        self.assertEqual(self.t["Parameters"]["TableBillingMode"]["Default"], "PAY_PER_REQUEST")
        self.assertEqual(t["ProvisionedThroughput"]["Fn::If"][:2],
                         ["IsProvisioned", {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}])

    def test_failure_queue_is_encrypted(self):
        self.assertIs(self.props("rFailureQueue")["SqsManagedSseEnabled"], True)

    def test_least_privilege_policy(self):
        # As deployed with the defaults (Tracing=none: no X-Ray statement).
        stmts = Stack(self.t).resolve(self.props("rLambdaRole"))["Policies"][0]["PolicyDocument"]["Statement"]
        by_action = {}
        for s in stmts:
            self.assertEqual(s["Effect"], "Allow")
            for r in resources_named(s["Resource"]):
                self.assertNotEqual(r, "*")
                self.assertNotIn(":*:*", json.dumps(r))
            for a in resources_named(s["Action"]):
                by_action[a] = resources_named(s["Resource"])
        stream = [{"Fn::GetAtt": ["rDynamoDBTable", "StreamArn"]}]
        for a in ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"):
            self.assertEqual(by_action[a], stream)
        self.assertEqual(sub_text(by_action["dynamodb:ListStreams"][0]), "${rDynamoDBTable.Arn}/stream/*")
        for a in ("logs:CreateLogStream", "logs:PutLogEvents"):
            texts = [sub_text(r) for r in by_action[a]]
            self.assertTrue(texts and all("log-group:${rLambdaFunctionLogGroup}" in x for x in texts), texts)
        self.assertEqual(by_action["sqs:SendMessage"], [{"Fn::GetAtt": ["rFailureQueue", "Arn"]}])
        self.assertEqual(sorted(by_action), sorted([
            "dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
            "dynamodb:ListStreams", "logs:CreateLogStream", "logs:PutLogEvents", "sqs:SendMessage"]))

    def test_alarms(self):
        alarms = {p["Properties"]["MetricName"]: p["Properties"] for p in self.res.values()
                  if p["Type"] == "AWS::CloudWatch::Alarm"}
        self.assertEqual(sorted(alarms), ["Errors", "IteratorAge", "Throttles"])
        for a in alarms.values():
            self.assertEqual(a["Namespace"], "AWS/Lambda")
            self.assertEqual(a["Dimensions"], [{"Name": "FunctionName", "Value": {"Ref": "rLoggingFunction"}}])
        self.assertEqual(alarms["IteratorAge"]["Threshold"], {"Ref": "IteratorAgeAlarmThresholdMs"})

    def test_dashboard_body_is_json_with_the_articles_metrics(self):
        body, _ = self.props("rDashboard")["DashboardBody"]["Fn::Sub"]
        filled = re.sub(r"\$\{[^}]+\}", "X", body)
        widgets = json.loads(filled)["widgets"]
        metrics = {m[1] for w in widgets for m in w["properties"]["metrics"]}
        self.assertEqual(metrics, {"ReturnedRecordsCount", "ReturnedBytes", "UserErrors", "Errors",
                                   "IteratorAge", "Throttles", "Duration"})


def sam_translate(**parameter_values):
    """template.yaml as the AWS::Serverless transform turns it into CloudFormation, with the local
    CodeUri replaced by an uploaded artefact as `sam package` leaves it."""
    t = load(SAM)
    t["Resources"]["StreamProcessorFunction"]["Properties"]["CodeUri"] = "s3://example-bucket/function.zip"
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

    class NoManagedPolicies:
        def load(self):
            return {}
    return sam_transform(t, parameter_values, NoManagedPolicies())


@unittest.skipIf(yaml_parse is None, "aws-sam-translator is not installed")
class SamTemplate(TracingChecks, SinkChecks, unittest.TestCase):
    # SAM writes TracingConfig: {Mode: <Tracing property>}, so none leaves an empty TracingConfig.
    function, role, mode_when_none = "StreamProcessorFunction", "FunctionRole", {}
    table, failure_queue, sink_sids = "Table", "FailureQueue", None
    created_targets = {"dynamodb": "ReplicaTable", "sqs": "SinkQueue", "sns": "SinkTopic",
                       "eventbridge": "SinkBus"}

    def variant(self, **values):
        """The template translated with these values (each variant goes through the translator)."""
        out = sam_translate(**values)
        return out, Stack(out, **values)

    @classmethod
    def setUpClass(cls):
        cls.metadata = load(SAM)["Resources"]["StreamProcessorFunction"]["Metadata"]
        cls.out = cls.template = sam_translate()
        cls.res = cls.out["Resources"]

    def test_build_method_is_makefile(self):
        self.assertEqual(self.metadata["BuildMethod"], "makefile")

    def test_it_lacks_only_what_docs_deploy_md_lists(self):
        cfn, sam = load(CFN), load(SAM)
        self.assertEqual(sorted(set(cfn["Parameters"]) - set(sam["Parameters"])),
                         ["AlarmTopicArn", "BisectBatchOnFunctionError", "CodeS3Bucket", "CodeS3Key",
                          "DeadlineMarginMs", "EventSourceMapping", "Handler"])
        self.assertEqual(sorted(set(cfn["Outputs"]) - set(sam["Outputs"])),
                         ["oEventSourceMappingId", "oFailureQueueArn", "oFunctionArn"])
        self.assertFalse(set(sam["Parameters"]) - set(cfn["Parameters"]))
        self.assertFalse(set(sam["Outputs"]) - set(cfn["Outputs"]))

    def test_transform_yields_the_application(self):
        # With the defaults; the targets CreateSinkTarget=true makes are in SinkChecks.
        kinds = sorted(self.res[k]["Type"] for k in Stack(self.out).created())
        self.assertEqual(kinds, sorted([
            "AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::Logs::LogGroup", "AWS::IAM::Role",
            "AWS::Lambda::Function", "AWS::Lambda::EventSourceMapping", "AWS::CloudWatch::Alarm",
            "AWS::CloudWatch::Alarm", "AWS::CloudWatch::Alarm", "AWS::CloudWatch::Dashboard"]))

    def test_function(self):
        p = self.res["StreamProcessorFunction"]["Properties"]
        self.assertEqual(p["Code"], {"S3Bucket": "example-bucket", "S3Key": "function.zip"})
        self.assertEqual(p["Handler"], "bootstrap")
        self.assertEqual(p["Role"], {"Fn::GetAtt": ["FunctionRole", "Arn"]})
        self.assertEqual(p["LoggingConfig"]["LogGroup"], {"Ref": "FunctionLogGroup"})
        self.assertEqual(p["Runtime"], {"Ref": "Runtime"})
        self.assertEqual(self.out["Parameters"]["Runtime"]["Default"], "provided.al2023")

    def test_same_new_parameters_as_cloudformation_yaml(self):
        cfn = load(CFN)["Parameters"]
        self.assertEqual(self.out["Parameters"]["FilterPattern"], cfn["FilterPattern"])
        for name in ("Sink", "SinkTarget", "CreateSinkTarget", "SinkFifo"):
            self.assertEqual(self.out["Parameters"][name], cfn[name], name)
        self.assertEqual(self.out["Rules"], load(CFN)["Rules"])
        for name in ("HasSink", "SinkIsDynamoDB", "SinkIsSqs", "SinkIsSns", "SinkIsEventBridge",
                     "CreateReplica", "CreateQueue", "CreateTopic", "CreateBus", "IsSinkFifo",
                     "SinkTargetIsArn"):
            self.assertEqual(self.out["Conditions"][name], load(CFN)["Conditions"][name], name)
        for name in ("Tracing", "Runtime"):  # the descriptions say what differs in SAM
            for key in ("Type", "Default", "AllowedValues"):
                self.assertEqual(self.out["Parameters"][name][key], cfn[name][key], name)

    def test_a_provided_al2_stack_with_every_option_translates(self):
        pattern = '{"eventName":["INSERT"]}'
        values = {"Runtime": "provided.al2", "Tracing": "Active", "FilterPattern": pattern}
        out = sam_translate(**values)
        stack = Stack(out, **values)
        fn = stack.resolve(out["Resources"]["StreamProcessorFunction"]["Properties"])
        self.assertEqual((fn["Runtime"], fn["TracingConfig"]), ("provided.al2", {"Mode": "Active"}))
        esm = stack.resolve(out["Resources"]["StreamProcessorFunctionStream"]["Properties"])
        self.assertEqual(esm["FilterCriteria"], {"Filters": [{"Pattern": pattern}]})

    def test_event_source_mapping(self):
        p = self.res["StreamProcessorFunctionStream"]["Properties"]
        self.assertEqual(p["FunctionResponseTypes"], ["ReportBatchItemFailures"])
        self.assertEqual(p["EventSourceArn"], {"Fn::GetAtt": ["Table", "StreamArn"]})
        self.assertEqual(p["DestinationConfig"]["OnFailure"]["Destination"],
                         {"Fn::GetAtt": ["FailureQueue", "Arn"]})
        self.assertIs(p["BisectBatchOnFunctionError"], True)
        self.assertEqual(p["MetricsConfig"], {"Metrics": ["EventCount"]})

    def test_filter_pattern_reaches_the_mapping(self):
        p = self.res["StreamProcessorFunctionStream"]["Properties"]
        pattern = '{"eventName":["INSERT","MODIFY"]}'
        self.assertEqual(Stack(self.out, FilterPattern=pattern).resolve(p)["FilterCriteria"],
                         {"Filters": [{"Pattern": pattern}]})
        self.assertNotIn("FilterCriteria", Stack(self.out).resolve(p))  # empty: every record

    def test_no_generated_role_and_no_wildcard_resources(self):
        roles = [k for k, r in self.res.items() if r["Type"] == "AWS::IAM::Role"]
        self.assertEqual(roles, ["FunctionRole"])
        role = self.res["FunctionRole"]["Properties"]
        self.assertNotIn("ManagedPolicyArns", role)
        # With the defaults (Tracing=none); TracingChecks covers the X-Ray statement of Active.
        for resources in grants(Stack(self.out).resolve(role)).values():
            self.assertNotIn("*", resources)


if __name__ == "__main__":
    unittest.main()
