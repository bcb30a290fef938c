fetch("/agents/pc2_infra_core").then((r) => r.json()).then((s) => {
  document.querySelector("#status").textContent = s.healthy ? "healthy" : "down";
});
