// "Update Job Name" and "Get User History", verbatim.
import { backendBase, token } from "./preamble.mjs";

const jobId = process.env.JOB_ID;

{
const response = await fetch(`${backendBase}/api/3d/jobs/${jobId}/name`, {
  method: "PATCH",
  headers: {
    "Authorization": `Bearer ${token}`,
    "Content-Type": "application/json"
  },
  body: JSON.stringify({
    name: "My Custom Model Name"
  })
});

const { success } = await response.json();
console.log("RENAMED", success);
}

{
const response = await fetch(`${backendBase}/api/3d/history`, {
  headers: {
    "Authorization": `Bearer ${token}`
  }
});

const { jobs } = await response.json();

jobs.forEach(job => {
  console.log(`${job.name || job.prompt}: ${job.status}`);
  if (job.resultGlbUrl) {
    console.log(`3D Model: ${job.resultGlbUrl}`);
  }
});
}
