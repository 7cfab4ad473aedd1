/* The Gaussian splat viewer: gsplat (npm "gsplat", vendored) draws the generation's splat PLY on a canvas
 * with orbit controls. window.nu3dSplat.mount(canvas, url) -> {dispose()}; sets canvas.dataset.state. */
import * as SPLAT from "/static/vendor/gsplat.es.js";

function mount(canvas, url) {
  var disposed = false;
  var renderer = null, controls = null, frame = 0;
  canvas.dataset.state = "loading";
  try {
    var scene = new SPLAT.Scene();
    var camera = new SPLAT.Camera();
    renderer = new SPLAT.WebGLRenderer(canvas);
    controls = new SPLAT.OrbitControls(camera, canvas, 0.5, 0.5, 2.5);
    var resize = function () {
      renderer.setSize(canvas.clientWidth || 320, canvas.clientHeight || 240);
    };
    SPLAT.PLYLoader.LoadAsync(url, scene, function () {}).then(function () {
      if (disposed) { return; }
      canvas.dataset.state = "loaded";
      var loop = function () {
        if (disposed) { return; }
        resize();
        controls.update();
        renderer.render(scene, camera);
        frame = requestAnimationFrame(loop);
      };
      frame = requestAnimationFrame(loop);
    }).catch(function (err) {
      canvas.dataset.state = "error";
      canvas.dataset.error = String(err && err.message || err);
    });
  } catch (err) {
    canvas.dataset.state = "error";
    canvas.dataset.error = String(err && err.message || err);
  }
  return {
    dispose: function () {
      disposed = true;
      cancelAnimationFrame(frame);
      try { if (controls) { controls.dispose(); } if (renderer) { renderer.dispose(); } } catch (e) { /* already gone */ }
    },
  };
}

window.nu3dSplat = { mount: mount };
window.dispatchEvent(new Event("nu3d:splat-ready"));
