import { NotFoundException } from '@nestjs/common';
import { Response } from 'express';
import { FieldMap, FormErrors, formResult, Posted } from './forms';
import { PortalRequest } from './http-context';
import { ApiResult } from './services';

/**
 * Every form of the portal is answered the same way: the form's errors on the same page (with what was typed),
 * or, once the service took it, a message for the next page and a redirect there (303, so that reloading it
 * sends nothing again). Two page loads for anything a person does: the form, then where it leads.
 */
export interface Submission<T> {
  /** Where a service's problem shows on the form. */
  fields: FieldMap;
  /** What the form could not read at all (a number that is not one): shown without sending anything. */
  errors?: FormErrors;
  send(): Promise<ApiResult<T>>;
  /** What to say and where to go, once the service took it (and whatever follows from it is done). */
  done(answer: T): Outcome | Promise<Outcome>;
  /** The form again, with its errors and what was typed. */
  showErrors(errors: FormErrors): unknown;
}

export interface Outcome {
  say: string;
  to: string;
}

export async function submitForm<T>(req: PortalRequest, res: Response, s: Submission<T>): Promise<void> {
  if (s.errors?.any) {
    await s.showErrors(s.errors);
    return;
  }
  const result = formResult(await s.send(), s.fields);
  if (!result.ok) {
    await s.showErrors(result.errors);
    return;
  }
  const { say, to } = await s.done(result.body);
  await req.flash(say);
  res.redirect(303, to);
}

/** One form on a record's page (escalate an issue, approve a pack): the service's path, its fields, the request. */
export interface PageAction {
  path: string;
  fields: FieldMap;
  request(posted: Posted): unknown;
  done: string;
}

/** The action an address names; any other name is a page that does not exist. */
export function actionNamed<A extends PageAction>(actions: Record<string, A>, name: string): A {
  if (!Object.hasOwn(actions, name)) throw new NotFoundException();
  return actions[name];
}

/** Posts one of a table's actions: on success it says the action's `done` and goes `back`. */
export function runAction(
  req: PortalRequest,
  res: Response,
  action: PageAction,
  send: (action: PageAction) => Promise<ApiResult<unknown>>,
  back: string | ((answer: Record<string, unknown>) => string | Promise<string>),
  showErrors: (errors: FormErrors) => unknown,
): Promise<void> {
  return submitForm(req, res, {
    fields: action.fields,
    send: () => send(action),
    done: async (answer) => ({
      say: action.done,
      to: typeof back === 'string' ? back : await back((answer ?? {}) as Record<string, unknown>),
    }),
    showErrors,
  });
}
