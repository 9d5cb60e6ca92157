import { NotFoundException } from '@nestjs/common';
import { Response } from 'express';
import { FieldMap, FormErrors, formResult, Posted } from '../shared/forms';
import { PortalRequest } from '../shared/http-context';
import { ApiResult } from '../shared/services';

/** One form on a record's page (escalate an issue, approve a pack): the service's path, its fields, the request. */
export interface PageAction {
  path: string;
  fields: FieldMap;
  request(posted: Posted): unknown;
  done: string;
}

/** The action an address names; any other name is a page that does not exist. */
export function actionNamed(actions: Record<string, PageAction>, name: string): PageAction {
  if (!Object.hasOwn(actions, name)) throw new NotFoundException();
  return actions[name];
}

/**
 * Posts an action's form: on success it says so and goes back to the record's page (303); otherwise the page
 * is shown again with the form's errors and what was typed.
 */
export async function runAction(
  req: PortalRequest,
  res: Response,
  action: PageAction,
  send: (action: PageAction) => Promise<ApiResult<unknown>>,
  back: string | ((answer: Record<string, unknown>) => string | Promise<string>),
  showErrors: (errors: FormErrors) => Promise<void> | void,
): Promise<void> {
  const result = formResult(await send(action), action.fields);
  if (!result.ok) return showErrors(result.errors);
  await req.flash(action.done);
  res.redirect(
    303,
    typeof back === 'string' ? back : await back((result.body ?? {}) as Record<string, unknown>),
  );
}
