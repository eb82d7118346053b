/**
 * The confirm step of consequential actions (closing a position, cancelling
 * protective stops): a native modal `<dialog>`, so focus stays inside,
 * Escape backs out and focus returns to the button that opened it. It can
 * carry one volume field (a partial close).
 *
 * @module
 */

/** What to ask. */
export interface ConfirmRequest {
  /** Heading. */
  title: string;
  /** What will happen, in plain words (the consequence). */
  text: string;
  /** The confirm button's label. */
  confirmLabel: string;
  /** Styles the confirm button as destructive and focuses "Back" first. */
  danger?: boolean;
  /** An optional volume field; empty means "all". */
  volume?: {
    /** Field label. */
    label: string;
    /** Hint under the field. */
    hint: string;
    /** Placeholder (e.g. `all 0.001`). */
    placeholder: string;
    /** The confirm label for a typed volume. */
    partialLabel: (volume: string) => string;
  };
}

/** The answer. */
export interface ConfirmAnswer {
  /** Whether the user confirmed. */
  confirmed: boolean;
  /** The volume typed (trimmed, `""` for all). */
  volume: string;
}

function part<T extends HTMLElement>(root: ParentNode, selector: string): T {
  const found = root.querySelector<T>(selector);
  if (found === null) {
    throw new TypeError(
      `Cannot use the confirm dialog: ${selector} is missing`,
    );
  }
  return found;
}

/**
 * The page's one confirm dialog (`#confirm-dialog` in `index.html`).
 *
 * @example Ask
 * ```ts ignore
 * const dialog = new ConfirmDialog(document.getElementById("confirm-dialog") as HTMLDialogElement);
 * const { confirmed } = await dialog.ask({ title: "Cancel all", text: "…", confirmLabel: "Cancel all" });
 * ```
 */
export class ConfirmDialog {
  #dialog: HTMLDialogElement;
  #title: HTMLElement;
  #text: HTMLElement;
  #volumeField: HTMLElement;
  #volume: HTMLInputElement;
  #hint: HTMLElement;
  #ok: HTMLButtonElement;
  #back: HTMLButtonElement;
  #pending: ((answer: ConfirmAnswer) => void) | undefined;
  #request: ConfirmRequest | undefined;

  /**
   * Binds the markup.
   *
   * @param dialog The `<dialog>`.
   */
  constructor(dialog: HTMLDialogElement) {
    this.#dialog = dialog;
    this.#title = part(dialog, "#confirm-title");
    this.#text = part(dialog, "#confirm-text");
    this.#volumeField = part(dialog, "#confirm-volume-field");
    this.#volume = part(dialog, "#confirm-volume");
    this.#hint = part(dialog, "#confirm-volume-hint");
    this.#ok = part(dialog, "#confirm-ok");
    this.#back = part(dialog, "#confirm-back");
    this.#volume.addEventListener("input", () => this.#label());
    dialog.addEventListener("close", () => {
      const resolve = this.#pending;
      this.#pending = undefined;
      resolve?.({
        confirmed: dialog.returnValue === "confirm",
        volume: this.#volume.value.trim(),
      });
    });
  }

  /**
   * Shows the dialog and waits for the answer.
   *
   * @param request Title, consequence, button label, optional volume field.
   * @returns Whether it was confirmed, and the volume typed.
   */
  ask(request: ConfirmRequest): Promise<ConfirmAnswer> {
    if (this.#dialog.open) this.#dialog.close("");
    this.#request = request;
    this.#title.textContent = request.title;
    this.#text.textContent = request.text;
    const volume = request.volume;
    this.#volumeField.hidden = volume === undefined;
    this.#hint.hidden = volume === undefined;
    this.#volume.disabled = volume === undefined;
    this.#volume.value = "";
    if (volume !== undefined) {
      part(this.#volumeField, ".confirm-volume-label").textContent =
        volume.label;
      this.#volume.placeholder = volume.placeholder;
      this.#hint.textContent = volume.hint;
    }
    this.#ok.dataset.danger = String(request.danger === true);
    this.#label();
    this.#dialog.returnValue = "";
    const promise = new Promise<ConfirmAnswer>((resolve) => {
      this.#pending = resolve;
    });
    this.#dialog.showModal();
    if (volume !== undefined) this.#volume.focus();
    else if (request.danger === true) this.#back.focus();
    else this.#ok.focus();
    return promise;
  }

  #label(): void {
    const request = this.#request;
    if (request === undefined) return;
    const typed = this.#volume.value.trim();
    this.#ok.textContent = request.volume !== undefined && typed !== ""
      ? request.volume.partialLabel(typed)
      : request.confirmLabel;
  }
}
