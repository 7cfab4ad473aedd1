// "Complete Workflow: Text-to-3D", verbatim from the document (after the import of its inputs).
import { apiBase, backendBase, token } from "./preamble.mjs";

// 1. Generate preview image
const formData = new URLSearchParams();
formData.append("prompt", "A red sports car");

const previewResponse = await fetch(`${apiBase}/text-to-image`, {
  method: "POST",
  headers: { "Content-Type": "application/x-www-form-urlencoded" },
  body: formData.toString()
});

const previewData = await previewResponse.json();
const previewImageUrl = previewData.image_url;

// 2. Register job with preview
await fetch(`${backendBase}/api/3d/register-job`, {
  method: "POST",
  headers: {
    "Authorization": `Bearer ${token}`,
    "Content-Type": "application/json"
  },
  body: JSON.stringify({
    job_id: previewData.preview_id,
    prompt: "A red sports car",
    previewImageUrl: previewImageUrl
  })
});

// 3. Generate 3D model (if user clicks "Generate 3D")
const generateResponse = await fetch(`${backendBase}/api/3d/generate`, {
  method: "POST",
  headers: {
    "Authorization": `Bearer ${token}`,
    "Content-Type": "application/json"
  },
  body: JSON.stringify({
    prompt: "A red sports car"
  })
});

const { jobId } = await generateResponse.json();

// 4. Poll for status
const pollStatus = async () => {
  const response = await fetch(`${backendBase}/api/3d/status/${jobId}`, {
    headers: { "Authorization": `Bearer ${token}` }
  });
  
  const { job, queue } = await response.json();
  
  if (job.status === "DONE") {
    // Job completed! Use job.resultGlbUrl for the 3D model
    console.log("3D Model:", job.resultGlbUrl);
  } else if (job.status === "FAIL") {
    console.error("Job failed:", job.errorMessage);
  } else {
    // Still processing, check again in 2 seconds
    console.log(`Progress: ${job.status}, Queue: ${queue.position}`);
    setTimeout(pollStatus, 2000);
  }
};

pollStatus();
// (not in the document: what the test reads back)
console.log("PREVIEW", JSON.stringify(previewData));
console.log("JOB", jobId);
