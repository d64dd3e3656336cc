#!/usr/bin/env bash
# Build and deploy the coordination API Lambda (with the embedded MCP server runtime),
# then make sure the HTTP API routes still point at it.
set -euo pipefail

REGION="${REGION:-us-west-2}"
FUNCTION_NAME="${FUNCTION_NAME:-devops-coordination-api}"
API_NAME="${API_NAME:-devops-tracker-api}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
BUILD="$(mktemp -d)"
trap 'rm -rf "$BUILD"' EXIT

cp "$ROOT/backend/lambda/coordination_api/lambda_function.py" "$BUILD/"
cp -r "$ROOT/backend/lambda/coordination_api/models" "$BUILD/"
cp "$ROOT/backend/lambda/coordination_api/governance_data_dictionary.json" "$BUILD/"
cp "$ROOT/tools/enceladus-mcp-server/server.py" "$BUILD/"
cp "$ROOT/tools/enceladus-mcp-server/dispatch_plan_generator.py" "$BUILD/"
python3 -m pip install --quiet --target "$BUILD" -r "$ROOT/backend/lambda/coordination_api/requirements.txt"
(cd "$BUILD" && zip -qr function.zip .)

aws lambda update-function-code \
  --region "$REGION" --function-name "$FUNCTION_NAME" \
  --zip-file "fileb://$BUILD/function.zip" >/dev/null
aws lambda wait function-updated --region "$REGION" --function-name "$FUNCTION_NAME"

if [[ -n "${COORDINATION_INTERNAL_API_KEY:-}" ]]; then
  aws lambda update-function-configuration \
    --region "$REGION" --function-name "$FUNCTION_NAME" \
    --environment "Variables={COORDINATION_INTERNAL_API_KEY=$COORDINATION_INTERNAL_API_KEY}" >/dev/null
  aws lambda wait function-updated --region "$REGION" --function-name "$FUNCTION_NAME"
fi

API_ID="$(aws apigatewayv2 get-apis --region "$REGION" \
  --query "Items[?Name=='$API_NAME'].ApiId | [0]" --output text)"
FUNCTION_ARN="$(aws lambda get-function --region "$REGION" --function-name "$FUNCTION_NAME" \
  --query 'Configuration.FunctionArn' --output text)"
INTEGRATION_ID="$(aws apigatewayv2 get-integrations --region "$REGION" --api-id "$API_ID" \
  --query "Items[?IntegrationUri=='$FUNCTION_ARN'].IntegrationId | [0]" --output text)"

ensure_route() {
  local key="$1"
  if ! aws apigatewayv2 get-routes --region "$REGION" --api-id "$API_ID" \
      --query "Items[?RouteKey=='$key'].RouteId" --output text | grep -q .; then
    aws apigatewayv2 create-route --region "$REGION" --api-id "$API_ID" \
      --route-key "$key" --target "integrations/$INTEGRATION_ID" >/dev/null
  fi
}

for path in /api/v1/coordination/capabilities /api/v1/coordination/requests \
    "/api/v1/coordination/requests/{requestId}" /api/v1/coordination/mcp; do
  ensure_route "OPTIONS $path"
done
ensure_route "GET /api/v1/coordination/capabilities"
ensure_route "POST /api/v1/coordination/requests"
ensure_route "GET /api/v1/coordination/requests/{requestId}"
ensure_route "GET /api/v1/coordination/mcp"
ensure_route "POST /api/v1/coordination/mcp"

echo "deployed $FUNCTION_NAME in $REGION"
