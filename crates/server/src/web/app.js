// sitegpt pages work without this script; it only makes them nicer:
// copy buttons, scope shortcuts, and forgetting a shown secret on reload.
(function () {
  'use strict';

  // A page that shows a secret replaces its address with the list's, so a
  // reload shows the list instead of posting the form again.
  var secret = document.querySelector('[data-forget]');
  if (secret && window.history && history.replaceState) {
    history.replaceState(null, '', secret.getAttribute('data-forget'));
  }

  document.querySelectorAll('button[data-copy]').forEach(function (button) {
    var target = document.getElementById(button.getAttribute('data-copy'));
    if (!target || !navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener('click', function () {
      navigator.clipboard.writeText(target.value).then(function () {
        button.textContent = 'Copied';
        button.classList.add('done');
        setTimeout(function () { button.textContent = 'Copy'; button.classList.remove('done'); }, 2000);
      }, function () {
        target.select();
        button.textContent = 'Press Ctrl+C';
      });
    });
  });

  // Clicking the shown secret selects all of it.
  document.querySelectorAll('input.secret-value').forEach(function (input) {
    input.addEventListener('focus', function () { input.select(); });
  });

  var shortcuts = document.querySelector('.select-all');
  if (shortcuts) {
    var form = shortcuts.closest('form');
    var custom = form.querySelector('input[name=access][value=custom]');
    shortcuts.hidden = false;
    shortcuts.addEventListener('click', function (event) {
      var which = event.target.getAttribute('data-select');
      if (!which) return;
      form.querySelectorAll('input[name=scope]:not(:disabled)').forEach(function (box) {
        box.checked = which === 'all' || (which === 'read' && /:read$/.test(box.value));
      });
      if (custom && !custom.disabled) custom.checked = true;
    });
    // Ticking a scope means Custom access.
    form.querySelectorAll('input[name=scope]').forEach(function (box) {
      box.addEventListener('change', function () { if (box.checked && custom) custom.checked = true; });
    });
  }

  // Typing in the days or date field chooses that kind of expiry.
  document.querySelectorAll('.expiry-choice label').forEach(function (label) {
    var radio = label.querySelector('input[type=radio]');
    label.querySelectorAll('input:not([type=radio])').forEach(function (input) {
      input.addEventListener('input', function () { radio.checked = true; });
    });
  });
})();
