// The 17 mRSS sites laid out like a body, scored from the keyboard or by clicking (ui/score_grid.py).
//
// Keys on a site: 0-3 scores it and moves to the next site in catalogue order; Backspace or Delete clears it;
// Left/Right (or Up/Down) step the score; Tab and Shift+Tab move between sites in catalogue order (the DOM order;
// CSS places the sites like a body). Clicking a score sets it and moves on like a digit; clicking it again
// clears it.
//
// The scores live here while the clinician types: they reach the server (`setStateValue("scores", …)`) once the
// typing pauses, and at once when the focus leaves the grid (e.g. for the Save button), so a whole visit typed
// in one go costs one server round trip, not seventeen.

const SYNC_AFTER_MS = 250;

function sameScores(a, b) {
  const keys = new Set([...Object.keys(a || {}), ...Object.keys(b || {})]);
  for (const key of keys) {
    if (((a || {})[key] ?? null) !== ((b || {})[key] ?? null)) return false;
  }
  return true;
}

function build(root, data, setStateValue) {
  root.dataset.token = data.token;
  const state = { scores: { ...data.scores }, sent: { ...data.scores }, timer: null };
  root._state = state;

  const sync = () => {
    clearTimeout(state.timer);
    state.timer = null;
    if (sameScores(state.scores, state.sent)) return;
    state.sent = { ...state.scores };
    setStateValue("scores", { ...state.scores });
  };
  const later = () => {
    clearTimeout(state.timer);
    state.timer = setTimeout(sync, SYNC_AFTER_MS);
  };
  state.sync = sync;

  for (const [column, heading] of data.headings.entries()) {
    const head = document.createElement("div");
    head.className = "heading";
    head.style.gridColumn = String(column + 1);
    head.textContent = heading;
    root.appendChild(head);
  }

  const groups = [];
  for (const site of data.sites) {
    const card = document.createElement("div");
    card.className = "site";
    card.style.gridRow = String(site.row + 2);
    card.style.gridColumn = String(site.column + 1);
    card.dataset.code = site.code;

    const name = document.createElement("div");
    name.className = "name";
    name.id = `${data.token}-${site.code}-name`;
    name.textContent = site.name;
    const last = document.createElement("span");
    last.className = "last";
    last.id = `${data.token}-${site.code}-last`;
    name.appendChild(last);
    card.appendChild(name);

    const group = document.createElement("div");
    group.className = "scores";
    group.setAttribute("role", "radiogroup");
    group.setAttribute("aria-labelledby", name.id);
    group.dataset.code = site.code;
    for (const score of [0, 1, 2, 3]) {
      const radio = document.createElement("button");
      radio.type = "button";
      radio.className = "score";
      radio.setAttribute("role", "radio");
      radio.dataset.score = String(score);
      radio.textContent = String(score);
      radio.title = `${score} ${data.meanings[score]}`;
      group.appendChild(radio);
    }
    card.appendChild(group);
    root.appendChild(card);
    groups.push(group);
  }

  const paint = (group) => {
    const chosen = state.scores[group.dataset.code] ?? null;
    const radios = [...group.children];
    radios.forEach((radio) => {
      const on = chosen !== null && Number(radio.dataset.score) === chosen;
      radio.setAttribute("aria-checked", on ? "true" : "false");
      radio.classList.toggle("on", on);
    });
    // One tab stop per site: its chosen score, or 0 when it is not scored yet.
    const stop = chosen === null ? 0 : chosen;
    radios.forEach((radio, index) => { radio.tabIndex = index === stop ? 0 : -1; });
    group.parentElement.classList.toggle("scored", chosen !== null);
  };
  const focusSite = (index) => {
    const group = groups[index];
    if (!group) return false;
    [...group.children].find((radio) => radio.tabIndex === 0).focus();
    return true;
  };
  const setScore = (group, score) => {
    state.scores[group.dataset.code] = score;
    paint(group);
    later();
  };
  groups.forEach(paint);

  root.addEventListener("click", (event) => {
    const radio = event.target.closest("button.score");
    if (!radio || event.detail === 0) return;  // detail 0: Enter or Space on the radio, handled as a key
    const group = radio.parentElement;
    const score = Number(radio.dataset.score);
    const again = (state.scores[group.dataset.code] ?? null) === score;
    setScore(group, again ? null : score);
    // A click scores like a digit: the next site takes the keys (a click that clears a score stays).
    if (again || !focusSite(groups.indexOf(group) + 1)) focusSite(groups.indexOf(group));
  });
  root.addEventListener("keydown", (event) => {
    const group = event.target.closest("[role=radiogroup]");
    if (!group || event.altKey || event.ctrlKey || event.metaKey) return;
    const index = groups.indexOf(group);
    const current = state.scores[group.dataset.code] ?? null;
    if (/^[0-3]$/.test(event.key)) {
      event.preventDefault();
      setScore(group, Number(event.key));
      if (!focusSite(index + 1)) sync();
    } else if (event.key === "Backspace" || event.key === "Delete") {
      event.preventDefault();
      setScore(group, null);
      focusSite(index);
    } else if (["ArrowRight", "ArrowUp", "ArrowLeft", "ArrowDown"].includes(event.key)) {
      event.preventDefault();
      const step = event.key === "ArrowRight" || event.key === "ArrowUp" ? 1 : -1;
      const next = Math.min(3, Math.max(0, (current ?? (step > 0 ? -1 : 4)) + step));
      setScore(group, next);
      focusSite(index);
    } else if (event.key === " " || event.key === "Enter") {
      event.preventDefault();
      const radio = event.target.closest("button.score");
      if (radio) setScore(group, Number(radio.dataset.score));
    }
  });
  // Leaving the grid (for Save, the measures, another field) sends what was typed at once.
  root.addEventListener("focusout", (event) => {
    if (!root.contains(event.relatedTarget)) sync();
  });
}

function label(root, data) {
  // The previous visit's score beside each site, and the sites the server flags (a jump of 2 or more).
  for (const site of data.sites) {
    const last = root.querySelector(`[id="${data.token}-${site.code}-last"]`);
    if (last) last.textContent = site.before === null ? "" : `last ${site.before}`;
    const card = root.querySelector(`.site[data-code="${site.code}"]`);
    if (card) card.classList.toggle("flagged", data.flagged.includes(site.code));
  }
}

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  let root = parentElement.querySelector(".body-grid");
  // A new record (a new token) starts afresh from the server's scores; the same record keeps what is being
  // typed, whatever a rerun sends meanwhile.
  if (!root || root.dataset.token !== data.token) {
    const fresh = document.createElement("div");
    fresh.className = "body-grid";
    if (root) root.replaceWith(fresh); else parentElement.appendChild(fresh);
    root = fresh;
    build(root, data, setStateValue);
  }
  label(root, data);
}
