"""What moto's CloudFormation skips, created through moto's own APIs from the transformed template.

moto does not implement `AWS::CloudWatch::Alarm` or `AWS::Lambda::EventInvokeConfig`; the local
stack would silently lack them. Here they are created with the service APIs, their intrinsic
functions resolved against the deployed stack (parameters, conditions, physical ids), so the
alarms and the scheduler's on-failure destination that run locally are the template's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# CloudFormation's alarm properties are the PutMetricAlarm parameters, name for name.
_ALARM_PARAMETERS = {
    "AlarmName",
    "AlarmDescription",
    "ActionsEnabled",
    "OKActions",
    "AlarmActions",
    "InsufficientDataActions",
    "MetricName",
    "Namespace",
    "Statistic",
    "ExtendedStatistic",
    "Dimensions",
    "Period",
    "Unit",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
    "EvaluateLowSampleCountPercentile",
    "Metrics",
    "ThresholdMetricId",
    "Tags",
}
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


class UnresolvableIntrinsic(Exception):
    """The template uses an intrinsic (or an attribute) the local completion does not know."""


@dataclass
class StackContext:
    """What intrinsics resolve against: parameter values (pseudo ones included), physical ids by
    logical id, resource types, the template's conditions, and a lookup for `Fn::GetAtt`."""

    parameters: dict[str, Any]
    physical_ids: dict[str, str]
    types: dict[str, str]
    conditions: dict[str, Any]
    attribute: Callable[[str, str, str], str]  # (type, physical id, attribute name) -> value

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.conditions[name]))

    def ref(self, name: str) -> Any:
        if name in self.parameters:
            return self.parameters[name]
        if name in self.physical_ids:
            return self.physical_ids[name]
        raise UnresolvableIntrinsic(f"Ref to {name!r}, which is neither a parameter nor a created resource")

    def get_att(self, logical_id: str, attribute: str) -> str:
        if logical_id not in self.physical_ids:
            raise UnresolvableIntrinsic(f"GetAtt {logical_id}.{attribute}: {logical_id} was not created")
        return self.attribute(self.types[logical_id], self.physical_ids[logical_id], attribute)

    def _sub(self, text: str, variables: dict[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(self.resolve(variables[name]))
            if "." in name and name.split(".", 1)[0] in self.physical_ids:
                return self.get_att(*name.split(".", 1))
            return str(self.ref(name))

        return _SUB_VARIABLE.sub(replace, text).replace("${!", "${")

    def resolve(self, value: Any) -> Any:
        """The value with every intrinsic function in it evaluated."""
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1:
            return {key: self.resolve(item) for key, item in value.items()}
        ((key, argument),) = value.items()
        if key == "Ref":
            return self.ref(argument)
        if key == "Fn::GetAtt":
            logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            return self.get_att(logical_id, attribute)
        if key == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            return self._sub(text, variables)
        if key == "Fn::Join":
            separator, items = argument
            return separator.join(str(item) for item in self.resolve(items))
        if key == "Fn::Select":
            index, items = argument
            return self.resolve(items)[int(self.resolve(index))]
        if key == "Fn::If":
            name, when_true, when_false = argument
            return self.resolve(when_true if self.condition(name) else when_false)
        if key == "Fn::Equals":
            left, right = self.resolve(argument)
            return str(left) == str(right)
        if key == "Fn::Not":
            return not self.resolve(argument[0])
        if key == "Fn::And":
            return all(self.resolve(item) for item in argument)
        if key == "Fn::Or":
            return any(self.resolve(item) for item in argument)
        if key == "Condition":
            return self.condition(argument)
        if key.startswith("Fn::"):
            raise UnresolvableIntrinsic(f"{key} is not resolved by the local completion")
        return {key: self.resolve(argument)}


def _wanted(resource: dict[str, Any], context: StackContext) -> bool:
    condition = resource.get("Condition")
    return condition is None or context.condition(condition)


def create_alarms(transformed: dict[str, Any], context: StackContext, cloudwatch: Any) -> dict[str, str]:
    """Create every alarm of the template (moto's CloudFormation skips them); logical id -> alarm name."""
    created: dict[str, str] = {}
    for logical_id, resource in transformed["Resources"].items():
        if resource["Type"] != "AWS::CloudWatch::Alarm" or not _wanted(resource, context):
            continue
        properties = context.resolve(resource.get("Properties", {}))
        unknown = set(properties) - _ALARM_PARAMETERS
        if unknown:
            raise UnresolvableIntrinsic(f"alarm {logical_id} has properties PutMetricAlarm lacks: {unknown}")
        properties.setdefault("AlarmName", f"{context.parameters['AWS::StackName']}-{logical_id}")
        cloudwatch.put_metric_alarm(**properties)
        created[logical_id] = properties["AlarmName"]
    return created


def create_event_invoke_configs(
    transformed: dict[str, Any], context: StackContext, lambda_client: Any
) -> None:
    """Apply each function's asynchronous-invocation settings (retries, age, on-failure destination)."""
    for resource in transformed["Resources"].values():
        if resource["Type"] != "AWS::Lambda::EventInvokeConfig" or not _wanted(resource, context):
            continue
        properties = context.resolve(resource["Properties"])
        arguments: dict[str, Any] = {
            "FunctionName": properties["FunctionName"],
            "Qualifier": properties.get("Qualifier", "$LATEST"),
        }
        for name in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig"):
            if name in properties:
                arguments[name] = properties[name]
        lambda_client.put_function_event_invoke_config(**arguments)
