"""The only code that talks to DynamoDB. Each entity owns its keys; ClientErrors become domain errors."""
