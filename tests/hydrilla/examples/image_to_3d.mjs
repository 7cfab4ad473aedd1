// "Complete Workflow: Image-to-3D", verbatim, with its step 3 ("same as text-to-3D") spelled out.
import { backendBase, file, token } from "./preamble.mjs";

// 1. Upload image
const formData = new FormData();
formData.append("image", file);

const uploadResponse = await fetch(`${backendBase}/api/3d/upload-image`, {
  method: "POST",
  body: formData
});

const { url: imageUrl } = await uploadResponse.json();

// 2. Generate 3D model
const generateResponse = await fetch(`${backendBase}/api/3d/generate`, {
  method: "POST",
  headers: {
    "Authorization": `Bearer ${token}`,
    "Content-Type": "application/json"
  },
  body: JSON.stringify({
    imageUrl: imageUrl
  })
});

const { jobId } = await generateResponse.json();

// 3. Poll for status (same as text-to-3D)
const pollStatus = async () => {
  const response = await fetch(`${backendBase}/api/3d/status/${jobId}`, {
    headers: { "Authorization": `Bearer ${token}` }
  });

  const { job, queue } = await response.json();

  if (job.status === "DONE") {
    console.log("3D Model:", job.resultGlbUrl);
  } else if (job.status === "FAIL") {
    console.error("Job failed:", job.errorMessage);
  } else {
    console.log(`Progress: ${job.status}, Queue: ${queue.position}`);
    setTimeout(pollStatus, 2000);
  }
};

pollStatus();
console.log("JOB", jobId);
console.log("UPLOADED", imageUrl);
