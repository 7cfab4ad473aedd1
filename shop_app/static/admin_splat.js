/* The Gaussian splat viewer: gsplat (npm "gsplat", vendored) draws the generation's splat PLY on a canvas
 * with orbit controls. window.nu3dSplat.mount(canvas, url) -> {dispose()}; sets canvas.dataset.state. */
import * as SPLAT from "/static/vendor/gsplat.es.js";

function mount(canvas, url) {
  var disposed = false;
  var renderer = null, controls = null, frame = 0, wake = null;
  canvas.dataset.state = "loading";
  try {
    var scene = new SPLAT.Scene();
    var camera = new SPLAT.Camera();
    renderer = new SPLAT.WebGLRenderer(canvas);
    SPLAT.PLYLoader.LoadAsync(url, scene, function () {}).then(function (splat) {
      if (disposed) { return; }
      // frame the object: orbit its centre from a distance that fits its largest extent (engine splats are
      // in metres, a mug is 0.1 m across; the camera's field of view is narrow)
      var p = splat.data.positions, lo = [Infinity, Infinity, Infinity], hi = [-Infinity, -Infinity, -Infinity];
      for (var i = 0; i < p.length; i += 3) {
        for (var k = 0; k < 3; k++) { lo[k] = Math.min(lo[k], p[i + k]); hi[k] = Math.max(hi[k], p[i + k]); }
      }
      var extent = Math.max(hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]) || 1;
      // gsplat looks along +z with y pointing down (the 3DGS/COLMAP convention); the engine's splats are
      // glTF-style y-up, so without a half turn about x every product stands on its head
      splat.rotation = SPLAT.Quaternion.FromEuler(new SPLAT.Vector3(Math.PI, 0, 0));
      var centre = new SPLAT.Vector3((lo[0] + hi[0]) / 2, -(lo[1] + hi[1]) / 2, -(lo[2] + hi[2]) / 2);
      // gsplat's camera has a fixed focal length in pixels (1132, made for a ~1000 px canvas): in a 280 px
      // card that is a telephoto close-up. The loop sets a 40 degree vertical field of view for the canvas's
      // size instead, and the orbit starts where the object fills about 60 % of the height.
      controls = new SPLAT.OrbitControls(camera, canvas, 0.5, 0.5, 2.3 * extent, true, centre);
      controls.minZoom = 0.8 * extent;
      controls.maxZoom = 10 * extent;
      canvas.dataset.state = "loaded";
      // draw only while the merchant turns the splat (and a moment after, for the controls' easing): a
      // software-rendered WebGL loop at 60 fps would take a whole CPU core for a picture that does not change
      var until = performance.now() + 1500;
      var running = false;
      var loop = function () {
        if (disposed) { running = false; return; }
        var width = canvas.clientWidth || 320, height = canvas.clientHeight || 240;
        renderer.setSize(width, height);
        camera.data.fx = camera.data.fy = (height / 2) / Math.tan(20 * Math.PI / 180);
        controls.update();
        renderer.render(scene, camera);
        if (performance.now() < until) { frame = requestAnimationFrame(loop); } else { running = false; }
      };
      wake = function () {
        until = performance.now() + 1500;
        if (!running) { running = true; frame = requestAnimationFrame(loop); }
      };
      ["pointerdown", "pointermove", "wheel", "keydown", "touchmove"].forEach(function (name) {
        canvas.addEventListener(name, wake, { passive: true });
      });
      wake();
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
