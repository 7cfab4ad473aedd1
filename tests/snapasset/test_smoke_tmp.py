def test_smoke(snap):
    h = snap.bearer()
    r = snap.http.post("/api/jobs", json={"userId": "u1", "prompt": "A beautiful sunset over mountains", "platforms": ["instagram-post", "twitter-post"]}, headers=h)
    print(r.status_code, r.json(), dict(r.headers))
    job_id = r.json()["jobId"]
    print(snap.http.get(f"/api/jobs/{job_id}", headers=h).json())
    snap.start_worker()
    body = snap.wait_status(job_id, {"completed", "failed"}, headers=h)
    print(body)
    print(snap.http.get("/api/queue/stats", headers=h).json())
    print(snap.http.get("/api/jobs?status=completed", headers=h).json())
    assert body["status"] == "completed"
