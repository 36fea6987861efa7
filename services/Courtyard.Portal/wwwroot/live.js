// Live tallies: each element with data-live-tally="<Server-Sent Events URL>" gets every new rendering of its tally.
// Without this script (or JavaScript) the page shows the tally as of its rendering and a refresh link.
(() => {
  const sources = new Map();

  function connect() {
    for (const [element, source] of sources) {
      if (!element.isConnected) { source.close(); sources.delete(element); }
    }
    for (const element of document.querySelectorAll('[data-live-tally]')) {
      if (sources.has(element)) continue;
      const source = new EventSource(element.dataset.liveTally);
      const replace = (event) => { element.innerHTML = event.data; element.dataset.liveUpdated = String(Date.now()); };
      source.addEventListener('tally', replace);
      source.addEventListener('final', (event) => { replace(event); source.close(); });
      source.addEventListener('refused', (event) => {
        source.close();
        const message = document.createElement('p');
        message.className = 'message message-refused';
        message.textContent = event.data;
        element.after(message);
      });
      sources.set(element, source);
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', connect); else connect();
  // Enhanced navigation swaps the page without reloading scripts: connect the new page's tallies.
  if (window.Blazor) window.Blazor.addEventListener('enhancedload', connect);
  else document.addEventListener('DOMContentLoaded', () => window.Blazor?.addEventListener('enhancedload', connect));
})();
