"""The web chat's stylesheet and its one script (strings handed to Gradio; no logic of the answer lives here).

Colours are fixed per theme rather than taken from the Gradio theme, so the highlight and link contrast
(>= 4.5:1, checked in the browser tests) does not depend on a theme's palette: light first, then `.dark`
(Gradio puts that class on <body> when the system or `?__theme=dark` asks for it).
"""

from __future__ import annotations

NARROW = 860  # px: below this the two columns stack (the chat's column needs 420 px) and the header shrinks

CSS = """
.gradio-container { width: 100% !important; max-width: 1400px !important; margin: 0 auto !important; }
#nd-header { display: flex; flex-wrap: wrap; align-items: baseline; justify-content: space-between; gap: 2px 16px;
  padding: 4px 2px 10px; border-bottom: 1px solid var(--border-color-primary); margin-bottom: 4px; }
#nd-header h1 { font-size: 1.7rem; font-weight: 700; letter-spacing: -0.02em; margin: 0; line-height: 1.2; }
#nd-header p { margin: 2px 0 0; color: var(--body-text-color-subdued); font-size: 0.95rem; }
.nd-stats { font-size: 0.82rem; color: var(--body-text-color-subdued); }
.nd-stats b { color: var(--body-text-color); }
.nd-stats code { font-size: 0.78rem; }
.nd-stats.nd-empty { color: #92400e; font-weight: 600; padding: 0; }
.nd-sup { font-size: 0.72em; line-height: 0; margin-left: 1px; }
a.nd-ref { text-decoration: none !important; cursor: pointer; font-weight: 600; color: #1d4ed8 !important; }
a.nd-ref:hover, a.nd-ref:focus-visible { text-decoration: underline !important; }
a.nd-ref.nd-flash { outline: 2px solid #f59e0b; outline-offset: 2px; border-radius: 3px; }
.nd-small { font-size: 0.78rem; color: var(--body-text-color-subdued); }
.nd-meta { font-size: 0.85rem; }
.nd-note { font-size: 0.82rem; color: #92400e; }
.nd-hint { font-size: 0.85rem; color: var(--body-text-color-subdued); }
.nd-refusal { font-weight: 600; }
.nd-error { color: #b91c1c; font-weight: 600; }
#nd-status .nd-warn, #nd-status .nd-warn * { color: #92400e !important; font-weight: 600; }
.nd-sources, .nd-context { display: flex; flex-direction: column; gap: 10px; }
.nd-sources-head { font-size: 0.85rem; color: var(--body-text-color-subdued); }
.nd-empty { color: var(--body-text-color-subdued); font-size: 0.9rem; padding: 18px 4px; }
.nd-card { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 10px 12px;
  background: var(--background-fill-primary); }
.nd-card.nd-selected { border-color: #2563eb; box-shadow: 0 0 0 2px rgba(37, 99, 235, 0.25); }
.nd-card-head, .nd-context-head { display: flex; gap: 8px; align-items: baseline; }
.nd-num { display: inline-flex; min-width: 1.5em; height: 1.5em; align-items: center; justify-content: center;
  border-radius: 999px; background: #dbeafe; color: #1e40af !important; font-size: 0.8rem; font-weight: 700;
  flex: none; }
.nd-title { font-weight: 600; line-height: 1.3; }
.nd-card-meta { font-size: 0.8rem; color: var(--body-text-color-subdued); margin: 3px 0 2px; }
.nd-card-url { font-size: 0.8rem; overflow-wrap: anywhere; }
.nd-url-text { color: var(--body-text-color-subdued); }
.nd-field, .nd-details { font-size: 0.88rem; margin: 6px 0; }
.nd-rel { display: inline-flex; align-items: center; gap: 2px; white-space: nowrap; cursor: help; }
.nd-rel i { display: inline-block; width: 5px; height: 10px; border-radius: 1px; background: #cbd5e1; }
.nd-rel i:last-of-type { margin-right: 4px; }
.nd-rel-high i.nd-on { background: #15803d; }
.nd-rel-medium i.nd-on { background: #a16207; }
.nd-rel-low i.nd-on { background: #64748b; }
blockquote.nd-passage { margin: 8px 0 6px; padding: 2px 0 2px 10px; border-left: 3px solid var(--border-color-primary);
  font-size: 0.88rem; color: var(--body-text-color); }
blockquote.nd-passage p, .nd-article p { margin: 0 0 6px; }
a.nd-open { font-size: 0.8rem; font-weight: 500; }
mark.nd-support { background: #fde68a; color: #1c1917; padding: 0 1px; border-radius: 2px; }
mark.nd-span { background: #dbeafe; color: #0f172a; }
.nd-article { font-size: 0.92rem; line-height: 1.55; max-height: 60vh; overflow-y: auto; padding-right: 4px; }
.nd-gap { color: var(--body-text-color-subdued); }
a.nd-back { display: none; font-size: 0.85rem; }
#nd-status, #nd-status * { font-size: 0.82rem !important; color: var(--body-text-color-subdued); }
.nd-card a, .nd-context a { padding: 0 !important; margin: 0 !important; }
#nd-chat { border: 1px solid var(--border-color-primary); border-radius: 12px; }
#nd-question textarea { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 12px 14px;
  background: var(--background-fill-primary); box-shadow: var(--shadow-drop); }
#nd-question textarea:focus { border-color: #2563eb; }
.nd-legend { font-size: 0.78rem; color: var(--body-text-color-subdued); display: flex; gap: 8px; }
#nd-tip { position: fixed; z-index: 1000; display: none; max-width: 360px; padding: 8px 10px; border-radius: 8px;
  background: #111827; color: #f9fafb; font-size: 0.82rem; line-height: 1.35; pointer-events: none;
  box-shadow: 0 4px 16px rgba(0, 0, 0, 0.25); }
#nd-tip.nd-toast { left: 8px !important; right: 8px; top: 8px !important; max-width: none !important; }

/* Dark theme: same roles, colours that keep >= 4.5:1 on the dark surfaces. */
.dark a.nd-ref { color: #93c5fd !important; }
.dark mark.nd-support { background: #78350f; color: #fef3c7; }
.dark mark.nd-span { background: #1e3a8a; color: #e0e7ff; }
.dark .nd-num { background: #1e3a8a; color: #dbeafe !important; }
.dark .nd-note, .dark .nd-stats.nd-empty, .dark #nd-status .nd-warn,
.dark #nd-status .nd-warn * { color: #fcd34d !important; }
.dark .nd-error { color: #fca5a5; }
.dark .nd-card.nd-selected { border-color: #60a5fa; box-shadow: 0 0 0 2px rgba(96, 165, 250, 0.3); }
.dark .nd-rel i { background: #475569; }
.dark .nd-rel-high i.nd-on { background: #4ade80; }
.dark .nd-rel-medium i.nd-on { background: #facc15; }
.dark .nd-rel-low i.nd-on { background: #cbd5e1; }
.dark #nd-tip { background: #f8fafc; color: #0f172a; }

/* Phones: a one-line header, the chat first, and a way back from the passage to the answer. */
@media (max-width: NARROWpx) {
  #nd-header { flex-wrap: nowrap; padding: 0 0 4px; margin-bottom: 0; gap: 10px; align-items: center; }
  #nd-header h1 { font-size: 1.15rem; }
  #nd-header p { display: none; }
  #nd-header .nd-stats { font-size: 0.72rem; white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
    min-width: 0; }
  #nd-header .nd-stats .nd-model { display: none; }
  #nd-chat { height: 58vh !important; max-height: 58vh !important; }
  a.nd-back { display: inline-block; margin-top: 4px; }
  #nd-chat button.example { padding: 8px 10px !important; font-size: 0.85rem !important; }
  .nd-article { max-height: none; }
  /* The sources right under the answer; filters and saved conversations after them. */
  #nd-main { flex-direction: column !important; }
  #nd-left { display: contents !important; }
  #nd-left > * { order: 1; }
  #nd-left > #nd-filters, #nd-left > #nd-history { order: 3; }
  #nd-right { order: 2; }
}
""".replace("NARROW", str(NARROW))

# Runs once, from the header's js_on_load (the header is always on the page; the tab panels unmount while hidden).
# - A click or tap on a reference selects that citation: the chat's sanitizer strips data-* attributes, so the
#   turn and number travel in the href ("#nd-cite-<turn>-<n>"); a capture-phase listener sees the click before
#   the browser follows the anchor. When the passage view for it appears, it is scrolled into view.
# - "Back to the answer" (#nd-back-<turn>-<n>) scrolls to that reference in the chat.
# - Hover or focus on a reference in the chat shows its preview (the link's title, moved into a tooltip so the
#   browser's own does not show twice); a tap shows it as a toast for a few seconds.
JS = """
window.__ndTrigger = trigger;
if (!window.__nd) {
  const nd = window.__nd = {pointer: 'mouse', timer: 0};
  // Gradio scopes the custom stylesheet's media rules to its content, so the page padding around the content
  // (32 px a side, a sixth of a phone's width) is narrowed from here.
  const style = document.createElement('style');
  style.textContent = '@media (max-width: NARROWpx) { .gradio-container > .main.app { padding: 6px 8px !important; } }';
  document.head.appendChild(style);
  const tip = () => {
    let el = document.getElementById('nd-tip');
    if (!el) {
      el = document.createElement('div');
      el.id = 'nd-tip';
      el.setAttribute('role', 'tooltip');
      document.body.appendChild(el);
    }
    return el;
  };
  const tipText = (link) => {
    const title = link.getAttribute('title');
    if (title) { link.dataset.ndTip = title; link.removeAttribute('title'); }
    return link.dataset.ndTip || '';
  };
  const hideTip = () => { const el = document.getElementById('nd-tip'); if (el) el.style.display = 'none'; };
  const showTip = (link, toast) => {
    const text = tipText(link);
    if (!text) return;
    const el = tip();
    el.textContent = text;
    el.className = toast ? 'nd-toast' : '';
    el.style.display = 'block';
    clearTimeout(nd.timer);
    if (toast) { nd.timer = setTimeout(hideTip, 4000); return; }
    const r = link.getBoundingClientRect();
    const width = Math.min(360, window.innerWidth - 16);
    el.style.maxWidth = width + 'px';
    el.style.left = Math.max(8, Math.min(r.left, window.innerWidth - width - 8)) + 'px';
    const h = el.offsetHeight;
    el.style.top = (r.top - h - 8 > 0 ? r.top - h - 8 : r.bottom + 8) + 'px';
  };
  const chatRef = (target) => target && target.closest && target.closest('#nd-chat a.nd-ref');
  document.addEventListener('pointerdown', (e) => { nd.pointer = e.pointerType || 'mouse'; }, true);
  document.addEventListener('pointerover', (e) => {
    const link = chatRef(e.target);
    if (link && e.pointerType !== 'touch') showTip(link, false);
  });
  document.addEventListener('pointerout', (e) => { if (chatRef(e.target) && e.pointerType !== 'touch') hideTip(); });
  document.addEventListener('focusin', (e) => { const link = chatRef(e.target); if (link) showTip(link, false); });
  document.addEventListener('focusout', (e) => { if (chatRef(e.target)) hideTip(); });
  // A hover tip is placed beside its link; once the page scrolls it would float over something else.
  document.addEventListener('scroll', () => {
    const el = document.getElementById('nd-tip');
    if (el && el.className !== 'nd-toast') el.style.display = 'none';
  }, true);

  const scrollWhenShown = (turn, n) => {
    const until = Date.now() + 20000;
    const poll = () => {
      const box = document.getElementById('nd-ctx-' + turn + '-' + n);
      const target = box && (box.querySelector('.nd-article mark.nd-support, .nd-details mark')
                             || box.querySelector('.nd-article mark.nd-span') || box);
      if (target && target.getClientRects().length) {
        const place = () => target.scrollIntoView({block: 'center', behavior: 'auto'});
        place();
        // Fonts and the tab's own layout can still move it; place it once more when they have settled.
        setTimeout(() => {
          const r = target.getBoundingClientRect();
          if (r.top < 0 || r.bottom > window.innerHeight) place();
        }, 400);
        return;
      }
      if (Date.now() < until) setTimeout(poll, 50);
    };
    poll();
  };
  document.addEventListener('click', (event) => {
    const link = event.target.closest && event.target.closest('a.nd-ref, a.nd-back');
    if (!link) return;
    const href = link.getAttribute('href') || '';
    const back = href.match(/^#nd-back-(\\d+)-(\\d+)$/);
    const cite = href.match(/^#nd-cite-(\\d+)-(\\d+)$/);
    if (!back && !cite) return;
    event.preventDefault();
    event.stopPropagation();
    if (back) {
      const ref = document.querySelector('#nd-chat a.nd-ref[href="#nd-cite-' + back[1] + '-' + back[2] + '"]');
      if (ref) {
        ref.scrollIntoView({block: 'center', behavior: 'auto'});
        ref.classList.add('nd-flash');
        setTimeout(() => ref.classList.remove('nd-flash'), 1500);
      }
      return;
    }
    if (nd.pointer === 'touch' && link.closest('#nd-chat')) showTip(link, true);
    window.__ndTrigger('click', {turn: parseInt(cite[1], 10), n: parseInt(cite[2], 10)});
    scrollWhenShown(cite[1], cite[2]);
  }, true);
}
""".replace("NARROW", str(NARROW))
