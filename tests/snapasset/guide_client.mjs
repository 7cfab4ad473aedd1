// The SnapAsset API guide's own JavaScript, run unchanged against a live Nu3D (node --experimental-eventsource).
//
//   node --experimental-eventsource guide_client.mjs BASE_URL TOKEN SCENARIO [ARG]
//
// Only three things are added around the guide's code: relative URLs resolve against BASE_URL (the guide's
// snippets run on the API's own origin), the snippets that send no credentials get the bearer token (the
// guide requires it on every request but leaves it out of short examples), and the helpers the guide leaves
// undefined (sleep, updateProgressBar, displayImages, refreshAuth) print what they are given. Every line
// printed is one JSON object for the Python test to read.

const [BASE, TOKEN, SCENARIO, ARG] = process.argv.slice(2);
const nativeFetch = globalThis.fetch;
globalThis.fetch = (url, options = {}) => {
  const headers = new Headers(options.headers || {});
  if (!headers.has('Authorization') && !headers.has('X-API-Key')) {
    headers.set('Authorization', `Bearer ${TOKEN}`);
  }
  return nativeFetch(new URL(url, BASE), { ...options, headers });
};
const out = (event, data = {}) => console.log(JSON.stringify({ event, ...data }));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const updateProgressBar = (progress) => out('progress-bar', { progress });
const displayImages = (images) => out('images', { images });
let token = TOKEN;
let refreshed = 0;
const refreshAuth = async () => { refreshed += 1; token = ARG; out('refreshed'); };
const jobData = {
  userId: '550e8400-e29b-41d4-a716-446655440000',
  prompt: 'A beautiful sunset over mountains',
  platforms: ['instagram-post', 'twitter-post'],
  options: { quality: 'hd', style: 'vivid' },
};

// ---- "SDK Example" (verbatim) ----
class SnapAssetClient {
  constructor(apiUrl, token) {
    this.apiUrl = apiUrl;
    this.token = token;
  }

  async createJob(data) {
    const response = await fetch(`${this.apiUrl}/api/jobs`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'Authorization': `Bearer ${this.token}`
      },
      body: JSON.stringify(data)
    });

    if (!response.ok) {
      throw new Error(await response.text());
    }

    return response.json();
  }

  async getJob(jobId) {
    const response = await fetch(`${this.apiUrl}/api/jobs/${jobId}`, {
      headers: {
        'Authorization': `Bearer ${this.token}`
      }
    });

    return response.json();
  }

  streamJob(jobId, onUpdate, onComplete, onError) {
    const eventSource = new EventSource(
      `${this.apiUrl}/api/sse/jobs/${jobId}`
    );

    eventSource.onmessage = (event) => {
      const data = JSON.parse(event.data);

      if (data.type === 'progress') {
        onUpdate(data);
      } else if (data.type === 'done') {
        onComplete(data.result);
        eventSource.close();
      }
    };

    eventSource.onerror = (error) => {
      onError(error);
      eventSource.close();
    };

    return eventSource;
  }
}

async function sdk() {
  const client = new SnapAssetClient(BASE, TOKEN);
  const { jobId } = await client.createJob({
    userId: 'user-123',
    prompt: 'A beautiful sunset',
    platforms: ['instagram-post']
  });
  out('created', { jobId });
  await new Promise((resolve) => {
    client.streamJob(
      jobId,
      (data) => out('update', { progress: data.progress, status: data.status }),
      (result) => { out('completed', { result }); resolve(); },
      (error) => { out('error', { message: String(error && error.message) }); resolve(); }
    );
  });
  out('job', { job: await client.getJob(jobId) });
}

// ---- "Real-time Updates (SSE)" (verbatim but for the URL) ----
function realtime(jobId) {
  return new Promise((resolve) => {
    const eventSource = new EventSource(
      `${BASE}/api/sse/jobs/${jobId}`
    );

    eventSource.onmessage = (event) => {
      const data = JSON.parse(event.data);

      switch (data.type) {
        case 'connected':
          out('connected');
          break;

        case 'progress':
          out('progress', { progress: data.progress });
          updateProgressBar(data.progress);
          break;

        case 'done':
          out('done', { result: data.result });
          displayImages(data.result.images);
          eventSource.close();
          resolve();
          break;
      }
    };

    eventSource.onerror = (error) => {
      out('sse-error');
      eventSource.close();
      resolve();
    };
  });
}

// ---- "Handling Errors" (verbatim) ----
async function createJob(jobData) {
  try {
    const response = await fetch('/api/jobs', {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'Authorization': `Bearer ${token}`
      },
      body: JSON.stringify(jobData)
    });

    if (!response.ok) {
      const error = await response.json();
      out('api-error', { status: response.status, error });

      switch (error.code) {
        case 'RATE_LIMIT_EXCEEDED':
          // Wait and retry
          await sleep(error.retryAfter * 1000);
          return createJob(jobData);

        case 'UNAUTHORIZED':
          // Refresh token
          await refreshAuth();
          return createJob(jobData);

        default:
          throw new Error(error.message);
      }
    }

    return await response.json();
  } catch (error) {
    console.error('Failed to create job:', error);
    throw error;
  }
}

// ---- "Bad: Polling" (the guide's interval, stopped once the job has finished) ----
function poll(jobId) {
  return new Promise((resolve) => {
    const seen = [];
    const interval = setInterval(async () => {
      const status = await fetch(`/api/jobs/${jobId}`);
      const body = await status.json();
      if (seen[seen.length - 1] !== body.status) seen.push(body.status);
      if (['completed', 'failed'].includes(body.status)) {
        clearInterval(interval);
        out('polled', { seen, job: body });
        resolve();
      }
    }, 1000);
  });
}

// ---- "Handling Rate Limits" (verbatim) ----
async function rateLimited(body) {
  const response = await fetch('/api/jobs', { method: 'POST', body });

  if (response.status === 429) {
    const retryAfter = response.headers.get('Retry-After');
    console.log(JSON.stringify({ event: 'rate-limited', retryAfter }));
    // Wait and retry
  }
  return response;
}

// ---- "Clean Up Completed Jobs" and "Monitor Queue Health" (once, not every minute) ----
async function housekeeping() {
  const stats = await fetch('/api/queue/stats').then(r => r.json());
  out('stats', { stats });
  const cleaned = await fetch('/api/queue/clean', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      grace: 0, // the guide cleans jobs older than 24 h (86400000); the test's jobs are seconds old
      status: 'completed'
    })
  }).then(r => r.json());
  out('cleaned', { cleaned });
  out('stats', { stats: await fetch('/api/queue/stats').then(r => r.json()) });
}

const scenarios = {
  sdk,
  realtime: async () => {
    const created = await createJob(jobData);
    out('created', created);
    await realtime(created.jobId);
  },
  errors: async () => {
    token = 'not-a-valid-token';
    const created = await createJob(jobData);
    out('created', { ...created, refreshed });
  },
  poll: async () => {
    const created = await createJob(jobData);
    out('created', created);
    await poll(created.jobId);
  },
  'rate-limit': async () => {
    for (let i = 0; i < Number(ARG); i++) {
      const response = await rateLimited(JSON.stringify(jobData));
      out('response', { status: response.status, limit: response.headers.get('X-RateLimit-Limit'),
        remaining: response.headers.get('X-RateLimit-Remaining'), reset: response.headers.get('X-RateLimit-Reset') });
    }
  },
  housekeeping,
};

await scenarios[SCENARIO]();
process.exit(0);
