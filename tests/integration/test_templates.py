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
    """cfn-lint's findings for the template at path with the given parameter values (a dict), in its
    parseable format (path:line:column:endline:endcolumn:rule:message), in this process when cfnlint
    imports, else through the program. None when cfn-lint is not installed."""
    try:
        from cfnlint.api import ManualArgs, lint
    except ImportError:
        lint = None
    if lint is not None:
        with open(path) as f:
            text = f.read()
        config = ManualArgs(parameters=[parameters]) if parameters else ManualArgs()
        return ["%s:%d:%d:%d:%d:%s:%s" % (path, m.linenumber, m.columnnumber, m.linenumberend,
                                          m.columnnumberend, m.rule.id, m.message)
                for m in lint(text, config=config)]
    command = cfn_lint_command()
    if command is None:
        return None
    args = ["--parameters"] + ["%s=%s" % kv for kv in parameters.items()] if parameters else []
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
    values computed, a Fn::Sub made only of parameters and pseudo parameters (PSEUDO) filled in,
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

    def sub(self, text):
        names = re.findall(r"\$\{([^}!]+)\}", text)
        known = dict(PSEUDO, **{k: v for k, v in self.values.items() if isinstance(v, str)})
        if not all(n in known for n in names):
            return {"Fn::Sub": text}
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


class SinkChecks:
    """Sink, SinkTarget and CreateSinkTarget of either template: the default stack is the stack as
    it was, Sink=dynamodb adds exactly dynamodb:BatchWriteItem on exactly the target table, the
    replica has the source's key schema, and the Rules refuse an ambiguous or missing target. The
    class sets template, table, replica, function and role (logical ids), sink_sid (the statement's
    Sid, None in SAM) and variant(**values) -> (template, Stack) of a stack with those values."""

    def env(self, values):
        t, stack = self.variant(**values)
        return stack.resolve(t["Resources"][self.function]["Properties"])["Environment"]["Variables"]

    def sink_statements(self, values):
        t, stack = self.variant(**values)
        role = stack.resolve(t["Resources"][self.role]["Properties"])
        return [s for s in role["Policies"][0]["PolicyDocument"]["Statement"]
                if "dynamodb:BatchWriteItem" in resources_named(s["Action"])]

    def test_sink_parameters(self):
        p = self.template["Parameters"]
        self.assertEqual((p["Sink"]["Default"], p["Sink"]["AllowedValues"]), ("log", ["log", "dynamodb"]))
        self.assertEqual(p["SinkTarget"]["Default"], "")
        self.assertEqual((p["CreateSinkTarget"]["Default"], p["CreateSinkTarget"]["AllowedValues"]),
                         ("false", ["true", "false"]))

    def test_sink_target_pattern_takes_a_table_name_or_arn(self):
        # CloudFormation matches AllowedPattern against the whole value (Java regex; this one means
        # the same in Python's re).
        pattern = self.template["Parameters"]["SinkTarget"]["AllowedPattern"]
        for ok in ("", "Orders", "my_table.v-2", "abc", "x" * 255, ORDERS_ARN, OTHER_REGION_ARN,
                   "arn:aws-cn:dynamodb:cn-north-1:123456789012:table/T_1"):
            self.assertTrue(re.fullmatch(pattern, ok), ok)
        for bad in ("ab", "x" * 256, "my table", "a:b", ORDERS_ARN + "/stream/2026-01-01T00:00:00.000",
                    "arn:aws:sqs:us-east-1:123456789012:Orders", "arn:aws:dynamodb:us-east-1:1234:table/Orders"):
            self.assertFalse(re.fullmatch(pattern, bad), bad)

    def test_default_stack_is_todays_stack(self):
        t, stack = self.variant()
        self.assertEqual(stack.created(), sorted(k for k in t["Resources"] if k != self.replica))
        self.assertEqual(sorted(self.env({})), TODAYS_ENV)
        self.assertEqual(self.sink_statements({}), [])
        self.assertEqual(sorted(grants(stack.resolve(t["Resources"][self.role]["Properties"]))), TODAYS_GRANTS)
        self.assertEqual(t["Outputs"]["oSinkTarget"]["Condition"], "SinkIsDynamoDB")
        self.assertFalse(stack.holds({"Condition": "SinkIsDynamoDB"}))
        self.assertEqual(stack.broken_rules(), [])

    def check_sink(self, values, target, resource):
        t, stack = self.variant(**values)
        env = self.env(values)
        self.assertEqual(sorted(env), sorted(TODAYS_ENV + ["LR_SINK", "LR_SINK_TARGET"]))
        self.assertEqual((env["LR_SINK"], env["LR_SINK_TARGET"]), ("dynamodb", target))
        want = {"Effect": "Allow", "Action": ["dynamodb:BatchWriteItem"], "Resource": resource}
        if self.sink_sid:
            want["Sid"] = self.sink_sid
        self.assertEqual(self.sink_statements(values), [want])
        role = grants(stack.resolve(t["Resources"][self.role]["Properties"]))
        self.assertEqual(sorted(role), sorted(TODAYS_GRANTS + ["dynamodb:BatchWriteItem"]))
        self.assertEqual(stack.resolve(t["Outputs"]["oSinkTarget"]["Value"]), target)
        self.assertEqual(stack.broken_rules(), [])
        return stack

    def test_dynamodb_sink_into_a_table_named(self):
        stack = self.check_sink({"Sink": "dynamodb", "SinkTarget": "Orders"}, "Orders", ORDERS_ARN)
        self.assertNotIn(self.replica, stack.created())

    def test_dynamodb_sink_into_a_table_by_arn_in_another_region(self):
        stack = self.check_sink({"Sink": "dynamodb", "SinkTarget": OTHER_REGION_ARN}, OTHER_REGION_ARN,
                                OTHER_REGION_ARN)
        self.assertNotIn(self.replica, stack.created())

    def test_dynamodb_sink_into_a_replica_the_stack_creates(self):
        values = {"Sink": "dynamodb", "CreateSinkTarget": "true"}
        stack = self.check_sink(values, {"Ref": self.replica}, {"Fn::GetAtt": [self.replica, "Arn"]})
        self.assertEqual(stack.created(), sorted(self.variant()[1].created() + [self.replica]))

    def test_replica_has_the_source_tables_key_schema_and_billing(self):
        for billing in ("PAY_PER_REQUEST", "PROVISIONED"):
            t, stack = self.variant(Sink="dynamodb", CreateSinkTarget="true", TableBillingMode=billing)
            source = stack.resolve(t["Resources"][self.table]["Properties"])
            replica = stack.resolve(t["Resources"][self.replica]["Properties"])
            self.assertEqual(t["Resources"][self.replica]["Type"], "AWS::DynamoDB::Table")
            self.assertEqual(replica, {k: v for k, v in source.items() if k != "StreamSpecification"})
            self.assertEqual(replica["KeySchema"], [{"AttributeName": "id", "KeyType": "HASH"}])
            self.assertEqual(replica["BillingMode"], billing)

    def test_with_active_tracing_both_optional_statements_are_there(self):
        t, stack = self.variant(Sink="dynamodb", SinkTarget="Orders", Tracing="Active")
        role = grants(stack.resolve(t["Resources"][self.role]["Properties"]))
        self.assertEqual(role["dynamodb:BatchWriteItem"], [ORDERS_ARN])
        self.assertEqual({a: role[a] for a in XRAY_WRITE}, XRAY_WRITE)

    def test_rules_want_exactly_one_target_for_the_dynamodb_sink(self):
        need_one = ("Sink=dynamodb needs either SinkTarget (a table name or ARN) or "
                    "CreateSinkTarget=true, not both.")
        log_only = "SinkTarget and CreateSinkTarget=true apply only to Sink=dynamodb."
        for values, broken in (
                ({}, []),
                ({"Sink": "dynamodb", "SinkTarget": "Orders"}, []),
                ({"Sink": "dynamodb", "SinkTarget": OTHER_REGION_ARN}, []),
                ({"Sink": "dynamodb", "CreateSinkTarget": "true"}, []),
                ({"Sink": "dynamodb"}, [need_one]),
                ({"Sink": "dynamodb", "SinkTarget": "Orders", "CreateSinkTarget": "true"}, [need_one]),
                ({"SinkTarget": "Orders"}, [log_only]),
                ({"CreateSinkTarget": "true"}, [log_only])):
            self.assertEqual([" ".join(x.split()) for x in self.variant(**values)[1].broken_rules()],
                             broken, values)


@unittest.skipIf(cfn_lint_command() is None, "cfn-lint is not installed")
class CfnLint(unittest.TestCase):
    def test_cloudformation_yaml_has_no_errors_or_warnings(self):
        self.assertEqual(lint_findings(CFN), [])

    def test_template_yaml_has_no_errors_or_warnings(self):
        self.assertEqual(lint_findings(SAM), [])

    def findings(self, path, *parameters):
        return lint_findings(path, dict(p.split("=", 1) for p in parameters))

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
        for values in (["Runtime=provided.al2", "Tracing=Active", pattern],
                       ["Runtime=provided.al2023", "Tracing=PassThrough"],
                       ["Runtime=provided.al2", "Tracing=none"]):
            self.assertEqual(self.findings(CFN, "CodeS3Bucket=example-bucket", *values), [], values)
            self.assertEqual(self.findings(SAM, *values), [], values)
        for values in (["Sink=dynamodb", "SinkTarget=Orders"],
                       ["Sink=dynamodb", "SinkTarget=" + OTHER_REGION_ARN, "Tracing=Active"],
                       ["Sink=dynamodb", "CreateSinkTarget=true", "TableBillingMode=PROVISIONED"]):
            self.assertEqual(self.findings(CFN, "CodeS3Bucket=example-bucket", *values), [], values)
            self.assertEqual(self.findings(SAM, *values), [], values)
        # Guards the loop above: cfn-lint does check the values it is given.
        found = self.findings(CFN, "CodeS3Bucket=example-bucket", "Tracing=Disabled")
        self.assertTrue(found and all(":E2900:" in x for x in found), found)

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
    table, replica, sink_sid = "rDynamoDBTable", "rReplicaTable", "ReplicateIntoTheSinkTable"

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
    table, replica, sink_sid = "Table", "ReplicaTable", None

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

    def test_transform_yields_the_application(self):
        # With the defaults; the replica table of CreateSinkTarget=true is in SinkChecks.
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
        for name in ("Sink", "SinkTarget", "CreateSinkTarget"):
            self.assertEqual(self.out["Parameters"][name], cfn[name], name)
        self.assertEqual(self.out["Rules"], load(CFN)["Rules"])
        for name in ("SinkIsDynamoDB", "CreateReplica", "SinkTargetIsArn"):
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
