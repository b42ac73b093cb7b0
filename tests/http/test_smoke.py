async def test_health_answers_with_a_request_id(client):
    response = await client.get("/health")
    assert response.status_code == 200
    assert len(response.headers["zuora-request-id"]) == 36


async def test_unknown_route_is_a_zuora_404(client, tenant):
    response = await client.get("/v1/nothing-here", headers=tenant.headers)
    assert response.status_code == 404
    body = response.json()
    assert body["success"] is False
    assert body["reasons"][0]["code"] % 100 == 40
